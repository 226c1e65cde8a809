"""Roles from Slack user groups, cached with a TTL, refreshed off the ack path, failing closed.

``MLOPS_ROLES`` maps each role to user group handles (``ml-approvers``). Members are
read with ``usergroups.list`` (handle -> id) and ``usergroups.users.list`` (id ->
members). Any failure to read them raises ``PermissionLookupError``: the caller
must then deny, never guess.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.core.models import Role
from bot.settings import Settings

log = logging.getLogger(__name__)

__all__ = [
    "GroupDirectory",
    "GroupResolver",
    "PermissionLookupError",
    "RoleResolver",
    "UserGroupsClient",
    "groups_client",
    "role_directory",
]

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
    """Roles could not be resolved; the message says why, fit for the user.

    ``definitive`` when Slack answered with a setup problem (no paid plan, missing scope, bad
    token): retrying will not help. Otherwise Slack did not answer in time, or asked us to slow down.
    """

    def __init__(self, message: str, *, definitive: bool = False) -> None:
        super().__init__(message)
        self.definitive = definitive


class UserGroupsClient(Protocol):
    """The slice of ``slack_sdk.WebClient`` the directory uses."""

    def usergroups_list(self, *, include_disabled: bool | None = None, **kwargs: Any) -> Any: ...

    def usergroups_users_list(
        self, *, usergroup: str, include_disabled: bool | None = None, **kwargs: Any
    ) -> Any: ...


class RoleResolver(Protocol):
    def roles_of(self, user_id: str) -> frozenset[Role]: ...

    def peek(self, user_id: str) -> tuple[frozenset[Role], PermissionLookupError | None]: ...


@runtime_checkable
class GroupResolver(Protocol):
    def groups_of(self, user_id: str) -> frozenset[str]: ...


@dataclass(frozen=True)
class _Snapshot:
    roles: Mapping[str, frozenset[Role]]
    loaded_at: float
    #: user -> the handles they belong to, among those the bot reads (roles' and approval groups)
    groups: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Failure:
    error: PermissionLookupError
    at: float


#: Slack's answers that mean the setup is wrong: roles fail closed at once, cached or not.
_DEFINITIVE = frozenset(set(_HINTS) - {"ratelimited"} | {"not_authed", "account_inactive", "no_permission"})


def describe_slack_error(method: str, exc: Exception) -> PermissionLookupError:
    if isinstance(exc, SlackApiError):
        code = str(exc.response.get("error", "unknown_error"))
        if code in _DEFINITIVE:
            hint = _HINTS.get(code, f"Slack answered `{code}`")
            return PermissionLookupError(
                f"Cannot check your permissions: {hint} ({method} failed with `{code}`).", definitive=True
            )
        return PermissionLookupError(
            f"Can't check your permissions right now: Slack's user-group API answered `{code}` ({method}); "
            "try again in a minute."
        )
    return PermissionLookupError(
        f"Can't check your permissions right now: Slack's user-group API did not answer ({method}: {exc}); "
        "try again in a minute."
    )


NOT_ANSWERED_YET = (
    "Can't check your permissions right now: Slack's user-group API has not answered yet; "
    "try again in a minute."
)


class GroupDirectory:
    """Resolves a Slack user's roles from user group membership, without ever holding up an ack.

    Roles are cached for ``ttl_seconds`` and refreshed by one background thread at a time
    (``usergroups.users.list`` is Tier 2): a lookup never waits for Slack, except the very first
    one, which waits at most ``first_load_wait`` seconds. While Slack does not answer, cached roles
    keep serving for ``max_stale_seconds`` past their TTL; after that, or before any load
    succeeded, roles are unknown and ``roles_of`` raises. A setup error from Slack (no paid plan,
    missing scope) drops the cache at once: fail closed. No lock is held across a network call.
    """

    def __init__(
        self,
        client: UserGroupsClient,
        role_groups: Mapping[Role, list[str]],
        ttl_seconds: float = 300,
        *,
        clock: Callable[[], float] = time.monotonic,
        error_ttl_seconds: float = ERROR_TTL_SECONDS,
        max_stale_seconds: float = 900,
        first_load_wait: float = 1.0,
        extra_groups: Sequence[str] = (),
    ) -> None:
        self.client = client
        self.role_groups = {role: [h.lstrip("@") for h in handles] for role, handles in role_groups.items()}
        #: handles read for their members although they grant no role (required approval groups)
        self.extra_groups = tuple(h.lstrip("@") for h in extra_groups)
        self.ttl_seconds = ttl_seconds
        self.error_ttl_seconds = min(error_ttl_seconds, max(ttl_seconds, 0.001))
        self.max_stale_seconds = max_stale_seconds
        self.first_load_wait = first_load_wait
        self.clock = clock
        self._lock = threading.Lock()  # guards the fields below; never held across a Slack call
        self._good: _Snapshot | None = None
        self._failure: _Failure | None = None
        self._inflight: threading.Event | None = None
        self._warned: set[str] = set()

    def empty_roles(self) -> list[Role]:
        """Roles mapped to no group: deny by default means nobody holds them."""
        return [r for r in Role if not self.role_groups.get(r)]

    def invalidate(self) -> None:
        with self._lock:
            self._good = None
            self._failure = None

    def roles_of(self, user_id: str) -> frozenset[Role]:
        """Roles for a state-changing request; PermissionLookupError when they are unknown."""
        inflight = self._refresh_if_due()
        roles, error = self._usable()
        if error is not None and inflight is not None:
            if self._never_answered():
                inflight.wait(self.first_load_wait)  # only before Slack ever answered (start-up)
            # read again: the refresh may have ended since the first read, even without a wait
            roles, error = self._usable()
        if error is not None:
            raise error
        assert roles is not None
        return roles.get(user_id, frozenset())

    def groups_of(self, user_id: str) -> frozenset[str]:
        """The user's group handles as last read, never waiting (empty while nothing is known);
        call it after ``roles_of``, which does the waiting and failing closed."""
        with self._lock:
            good = self._good
        return frozenset() if good is None else good.groups.get(user_id, frozenset())

    def peek(self, user_id: str) -> tuple[frozenset[Role], PermissionLookupError | None]:
        """Whatever is known now, never waiting: for read-only requests (help, status)."""
        self._refresh_if_due()
        roles, error = self._usable()
        return (frozenset() if roles is None else roles.get(user_id, frozenset())), error

    def wait_refreshed(self, timeout: float) -> bool:
        """Wait for the refresh in flight, if any (tests and start-up warm-up); True when none is left."""
        with self._lock:
            inflight = self._inflight
        return inflight is None or inflight.wait(timeout)

    def refresh(self) -> threading.Event:
        """Start a refresh now unless one is running; the event is set when it ends."""
        with self._lock:
            inflight, claimed = self._claim_locked()
        if claimed:
            self._launch(inflight)
        return inflight

    def reload(self, timeout: float) -> bool:
        """Read the groups again now, without waiting out the TTL (they were just edited).

        A refresh already running may have read them before the edit: it is let finish first, then
        another one starts. True when the new groups are loaded within ``timeout`` (each wait).
        """
        return self.wait_refreshed(timeout) and self.refresh().wait(timeout)

    # -- internals -------------------------------------------------------------------------
    def _never_answered(self) -> bool:
        with self._lock:
            return self._good is None and self._failure is None

    def _usable(self) -> tuple[Mapping[str, frozenset[Role]] | None, PermissionLookupError | None]:
        now = self.clock()
        with self._lock:
            good, failure = self._good, self._failure
        if good is not None and now - good.loaded_at < self.ttl_seconds + self.max_stale_seconds:
            return good.roles, None
        return None, failure.error if failure is not None else PermissionLookupError(NOT_ANSWERED_YET)

    def _refresh_if_due(self) -> threading.Event | None:
        now = self.clock()
        with self._lock:
            if self._inflight is not None:
                return self._inflight
            if self._failure is not None and now - self._failure.at < self.error_ttl_seconds:
                return None  # back off: a broken setup must not hammer a Tier 2 API
            if self._good is not None and now - self._good.loaded_at < self.ttl_seconds:
                return None
            inflight, claimed = self._claim_locked()
        if claimed:
            self._launch(inflight)
        return inflight

    def _claim_locked(self) -> tuple[threading.Event, bool]:
        """The refresh in flight, and whether this caller just claimed it (and must launch it)."""
        if self._inflight is None:
            self._inflight = threading.Event()
            return self._inflight, True
        return self._inflight, False

    def _launch(self, inflight: threading.Event) -> None:
        # Outside the lock: Thread.start() waits until the new thread runs, which under load takes
        # several GIL hand-offs, and every request reading the roles meanwhile would queue on the lock.
        try:
            threading.Thread(target=self._refresh, name="mlops-role-refresh", daemon=True).start()
        except RuntimeError:  # no thread to be had: nothing is in flight after all
            with self._lock:
                if self._inflight is inflight:
                    self._inflight = None
            inflight.set()
            raise

    def _refresh(self) -> None:
        try:
            roles, groups = self._load()
        except PermissionLookupError as exc:
            log.error("role lookup failed: %s", exc)
            with self._lock:
                self._failure = _Failure(exc, self.clock())
                if exc.definitive:
                    self._good = None
        except Exception as exc:  # an unexpected answer shape: roles stay unknown, and we say why
            log.exception("role lookup failed")
            with self._lock:
                self._failure = _Failure(describe_slack_error("usergroups", exc), self.clock())
        else:
            with self._lock:
                self._good = _Snapshot(roles, self.clock(), groups)
                self._failure = None
        finally:
            with self._lock:
                done, self._inflight = self._inflight, None
            if done is not None:
                done.set()

    def _load(self) -> tuple[dict[str, frozenset[Role]], dict[str, frozenset[str]]]:
        wanted = {h for handles in self.role_groups.values() for h in handles} | set(self.extra_groups)
        if not wanted:
            return {}, {}
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
                    "%s names user group @%s (for %s) but Slack has no such enabled group: it grants nothing",
                    "MLOPS_ROLES" if roles else "MLOPS_REQUIRED_APPROVAL_GROUPS",
                    handle,
                    ", ".join(roles) or "approvals",
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
        groups: dict[str, set[str]] = {}
        for handle, users in members.items():
            for user in users:
                groups.setdefault(user, set()).add(handle)
        return (
            {user: frozenset(roles) for user, roles in result.items()},
            {user: frozenset(handles) for user, handles in groups.items()},
        )


def groups_client(client: WebClient, timeout_seconds: int) -> WebClient:
    """A client of its own for user groups: a short timeout (the default is 30 s) and no retries,
    so that a refresh gives up quickly and the cached roles keep serving meanwhile."""
    return WebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=timeout_seconds,
        ssl=client.ssl,
        proxy=client.proxy,
        retry_handlers=[],
    )


def role_directory(client: WebClient, settings: Settings) -> GroupDirectory:
    """The configured directory, on a user-groups client of its own."""
    return GroupDirectory(
        groups_client(client, settings.mlops_group_api_timeout_seconds),
        settings.mlops_roles,
        settings.mlops_group_cache_seconds,
        max_stale_seconds=settings.mlops_group_max_stale_seconds,
        extra_groups=settings.mlops_required_approval_groups,
    )
