"""Local users and their groups, for the CLI and the terminal chat.

In Slack, groups come from Slack user groups; on one machine they come from
``MLOPS_HOME/users.json``, created on first use with documented defaults.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

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


def user_id(name: str) -> str:
    return "U" + "".join(ch for ch in name.upper() if ch.isalnum())[:20]


def load_users(home: Path) -> dict[str, LocalUser]:
    """Read ``users.json`` (creating it with the defaults); raises ValueError naming what is wrong."""
    path = home / USERS_FILE
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        doc = {
            "_comment": "Local users and their user groups (the role mapping is MLOPS_ROLES).",
            "users": {name: {"groups": groups} for name, groups in DEFAULT_USERS.items()},
        }
        path.write_text(json.dumps(doc, indent=2) + "\n")
    try:
        doc = json.loads(path.read_text())
        users = doc["users"]
        if not isinstance(users, dict):
            raise TypeError("'users' must be an object")
        return {
            name: LocalUser(user_id(name), name, tuple(str(g) for g in spec.get("groups", [])))
            for name, spec in users.items()
        }
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(
            f"{path} is not a valid users file ({exc}); expected "
            '{"users": {"alice": {"groups": ["ml-team"]}}}'
        ) from exc


def roles_for(
    groups: tuple[str, ...] | list[str] | frozenset[str], role_groups: Mapping[Role, list[str]]
) -> frozenset[Role]:
    have = set(groups)
    return frozenset(role for role, handles in role_groups.items() if have.intersection(handles))


def actor_for(user: LocalUser, role_groups: Mapping[Role, list[str]]) -> Actor:
    return Actor(id=user.id, name=user.name, roles=roles_for(user.groups, role_groups))
