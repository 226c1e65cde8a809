"""Local users and their groups, for the CLI and the terminal chat.

In Slack, groups come from Slack user groups; on one machine they come from
``MLOPS_HOME/users.json``, created on first use with documented defaults.
"""

from __future__ import annotations

import json
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
    return Actor(id=user.id, name=user.name, roles=roles_for(user.groups, role_groups))
