"""Local users and their groups, for the CLI and the terminal chat.

In Slack, groups come from Slack user groups; on one machine they come from
``MLOPS_HOME/users.json``, created on first use with documented defaults. A long-running
chat reads it through :class:`UsersFile`, which notices edits.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.identity import IdentityMap, Person
from bot.core.models import Actor, Role

DEFAULT_USERS: dict[str, list[str]] = {
    "alice": ["ml-team"],
    "bob": ["ml-approvers"],
    "carol": ["ml-leads", "ml-oncall"],
    "erin": [],
}

USERS_FILE = "users.json"


@dataclass(frozen=True)
class LocalUser:
    id: str  # stable id, Slack-like: U + upper-cased name
    name: str
    groups: tuple[str, ...]
    #: other identities of the same person: Slack ids, ``github:login``, AWS principal ARNs
    identities: tuple[str, ...] = ()


def user_id(name: str) -> str:
    return "U" + "".join(ch for ch in name.upper() if ch.isalnum())[:20]


def load_users(home: Path) -> dict[str, LocalUser]:
    """Read ``users.json`` (creating it with the defaults); raises ValueError naming what is wrong."""
    path = home / USERS_FILE
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        doc = {
            "_comment": (
                "Local users and their user groups (the role mapping is MLOPS_ROLES); a user may also "
                'list the same person\'s other identities: "slack": [ids], "github": [logins], "aws": [ARNs].'
            ),
            "users": {name: {"groups": groups} for name, groups in DEFAULT_USERS.items()},
        }
        path.write_text(json.dumps(doc, indent=2) + "\n")
    try:
        doc = json.loads(path.read_text())
        users = doc["users"]
        if not isinstance(users, dict):
            raise TypeError("'users' must be an object")
        return {name: _local_user(name, spec) for name, spec in users.items()}
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ValueError(
            f"{path} is not a valid users file ({exc}); expected "
            '{"users": {"alice": {"groups": ["ml-team"], "github": ["alice-gh"]}}}'
        ) from exc


#: What identifies one version of a file cheaply: inode, size, modification time (ns).
Signature = tuple[int, int, int]


def _signature(path: Path) -> Signature | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


@dataclass(frozen=True)
class RosterCheck:
    """The users in force after a look at ``users.json``.

    ``changed``: they differ from before (the file was edited). ``error``: the file is broken, the
    previous users stay in force; said once per broken version of the file, None after.
    """

    users: dict[str, LocalUser]
    changed: bool = False
    error: str | None = None


class UsersFile:
    """``users.json`` as it is now: :meth:`check` re-reads it when it changed since the last read.

    A changed file is told by its inode, size and modification time, so a check that finds nothing
    new costs one ``stat``. A broken edit keeps the previous users. Thread-safe.
    """

    def __init__(self, home: Path) -> None:
        self.home = home
        self.path = home / USERS_FILE
        self._lock = threading.Lock()
        signature = _signature(self.path)
        self._users = load_users(home)  # ValueError: broken at start, nothing to fall back on
        self._seen = signature if signature is not None else _signature(self.path)
        self._bad: Signature | None = None

    @property
    def users(self) -> dict[str, LocalUser]:
        with self._lock:
            return dict(self._users)

    def check(self) -> RosterCheck:
        """The users in force, re-reading the file if it changed."""
        with self._lock:
            # taken before the read: an edit made while reading shows at the next check
            signature = _signature(self.path)
            if signature is not None and signature in (self._seen, self._bad):
                return RosterCheck(dict(self._users))
            try:
                users = load_users(self.home)
            except ValueError as exc:
                self._bad = signature
                return RosterCheck(dict(self._users), error=str(exc))
            self._seen = signature if signature is not None else _signature(self.path)
            self._bad = None
            changed, self._users = users != self._users, users
            return RosterCheck(dict(users), changed=changed)


def _local_user(name: str, spec: Mapping[str, Any]) -> LocalUser:
    people = IdentityMap.from_config({name: {k: list(spec.get(k, [])) for k in ("slack", "github", "aws")}})
    return LocalUser(
        user_id(name),
        name,
        tuple(str(g) for g in spec.get("groups", [])),
        tuple(sorted(people.people[name].identities)),
    )


def local_identities(users: Mapping[str, LocalUser]) -> IdentityMap:
    """Each local user is a person: their local id (``UALICE``) and the identities users.json lists."""
    return IdentityMap(
        {u.name: Person(u.name, frozenset({u.id, *u.identities}), u.groups) for u in users.values()}
    )


def roles_for(
    groups: tuple[str, ...] | list[str] | frozenset[str], role_groups: Mapping[Role, list[str]]
) -> frozenset[Role]:
    have = set(groups)
    return frozenset(role for role, handles in role_groups.items() if have.intersection(handles))


def actor_for(user: LocalUser, role_groups: Mapping[Role, list[str]]) -> Actor:
    return Actor(
        id=user.id, name=user.name, roles=roles_for(user.groups, role_groups), groups=frozenset(user.groups)
    )
