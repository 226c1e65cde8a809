"""Roles from Slack user groups, cached with a TTL, failing closed.

``MLOPS_ROLES`` maps each role to user group handles (``ml-approvers``). Members are
read with ``usergroups.list`` (handle -> id) and ``usergroups.users.list`` (id ->
members). Any failure to read them raises ``PermissionLookupError``: the caller
must then deny, never guess.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.core.models import Role

log = logging.getLogger(__name__)

__all__ = ["GroupDirectory", "PermissionLookupError", "RoleResolver", "UserGroupsClient"]

#: How long a failed lookup is remembered: keeps a broken setup from hammering a Tier 2 API.
ERROR_TTL_SECONDS = 5.0

_HINTS: Mapping[str, str] = {
    "plan_upgrade_required": (
        "Slack user groups need a paid Slack plan, so roles cannot be resolved on this workspace"
    ),
    "missing_scope": "the Slack app lacks the `usergroups:read` scope; add it and reinstall the app",
    "not_allowed_token_type": "the configured token cannot read user groups; use the bot token (xoxb-)",
    "invalid_auth": "the Slack bot token is invalid",
    "token_revoked": "the Slack bot token was revoked",
    "ratelimited": "Slack rate-limited the user group lookup; try again in a minute",
}


class PermissionLookupError(Exception):
    """Roles could not be resolved; the message says why, fit for the user."""


class UserGroupsClient(Protocol):
    """The slice of ``slack_sdk.WebClient`` the directory uses."""

    def usergroups_list(self, *, include_disabled: bool | None = None, **kwargs: Any) -> Any: ...

    def usergroups_users_list(
        self, *, usergroup: str, include_disabled: bool | None = None, **kwargs: Any
    ) -> Any: ...


class RoleResolver(Protocol):
    def roles_of(self, user_id: str) -> frozenset[Role]: ...


@dataclass(frozen=True)
class _Snapshot:
    roles: Mapping[str, frozenset[Role]]
    loaded_at: float
    error: PermissionLookupError | None = None


def describe_slack_error(method: str, exc: Exception) -> PermissionLookupError:
    if isinstance(exc, SlackApiError):
        code = str(exc.response.get("error", "unknown_error"))
        hint = _HINTS.get(code, f"Slack answered `{code}`")
        return PermissionLookupError(
            f"Cannot check your permissions: {hint} ({method} failed with `{code}`)."
        )
    return PermissionLookupError(f"Cannot check your permissions: {method} failed ({exc}).")


class GroupDirectory:
    """Resolves a Slack user's roles from user group membership.

    One refresh at a time: concurrent callers with a stale cache wait for the
    refreshing thread rather than each calling Slack (``usergroups.users.list`` is Tier 2).
    """

    def __init__(
        self,
        client: UserGroupsClient,
        role_groups: Mapping[Role, list[str]],
        ttl_seconds: float = 300,
        *,
        clock: Callable[[], float] = time.monotonic,
        error_ttl_seconds: float = ERROR_TTL_SECONDS,
    ) -> None:
        self.client = client
        self.role_groups = {role: [h.lstrip("@") for h in handles] for role, handles in role_groups.items()}
        self.ttl_seconds = ttl_seconds
        self.error_ttl_seconds = min(error_ttl_seconds, ttl_seconds)
        self.clock = clock
        self._snapshot: _Snapshot | None = None
        self._refresh_lock = threading.Lock()
        self._warned: set[str] = set()

    def empty_roles(self) -> list[Role]:
        """Roles mapped to no group: deny by default means nobody holds them."""
        return [r for r in Role if not self.role_groups.get(r)]

    def invalidate(self) -> None:
        self._snapshot = None

    def roles_of(self, user_id: str) -> frozenset[Role]:
        snap = self._current()
        if snap.error is not None:
            raise snap.error
        return snap.roles.get(user_id, frozenset())

    def _fresh(self, snap: _Snapshot | None) -> bool:
        if snap is None:
            return False
        ttl = self.error_ttl_seconds if snap.error is not None else self.ttl_seconds
        return self.clock() - snap.loaded_at < ttl

    def _current(self) -> _Snapshot:
        snap = self._snapshot
        if self._fresh(snap):
            assert snap is not None
            return snap
        with self._refresh_lock:
            snap = self._snapshot  # another thread may have refreshed while we waited
            if self._fresh(snap):
                assert snap is not None
                return snap
            try:
                snap = _Snapshot(self._load(), self.clock())
            except PermissionLookupError as exc:
                log.error("role lookup failed: %s", exc)
                snap = _Snapshot({}, self.clock(), exc)
            self._snapshot = snap
            return snap

    def _load(self) -> dict[str, frozenset[Role]]:
        wanted = {h for handles in self.role_groups.values() for h in handles}
        if not wanted:
            return {}
        try:
            resp = self.client.usergroups_list(include_disabled=False)
        except (SlackApiError, SlackClientError, OSError) as exc:
            raise describe_slack_error("usergroups.list", exc) from exc
        ids: dict[str, str] = {}
        for group in resp.get("usergroups", []) or []:
            handle = group.get("handle")
            if isinstance(handle, str) and handle in wanted and not group.get("date_delete"):
                ids[handle] = str(group["id"])
        for handle in sorted(wanted - ids.keys()):
            if handle not in self._warned:
                self._warned.add(handle)
                roles = [r.value for r, hs in self.role_groups.items() if handle in hs]
                log.warning(
                    "MLOPS_ROLES names user group @%s (for %s) but Slack has no such enabled group: "
                    "it grants nothing",
                    handle,
                    ", ".join(roles),
                )
        members: dict[str, set[str]] = {}
        for handle, group_id in ids.items():
            try:
                users = self.client.usergroups_users_list(usergroup=group_id, include_disabled=False)
            except (SlackApiError, SlackClientError, OSError) as exc:
                raise describe_slack_error("usergroups.users.list", exc) from exc
            members[handle] = {str(u) for u in users.get("users", []) or []}
        result: dict[str, set[Role]] = {}
        for role, handles in self.role_groups.items():
            for handle in handles:
                for user in members.get(handle, ()):
                    result.setdefault(user, set()).add(role)
        return {user: frozenset(roles) for user, roles in result.items()}
