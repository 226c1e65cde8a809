"""What the CLI prints with ``--json`` (results, status, audit entries and any dataclass, as plain
JSON values) and with ``audit --csv``."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from bot.core.models import AuditEntry, Result
from bot.core.service import StatusView


def to_jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: to_jsonable(v) for k, v in asdict(value).items()}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    return value


def result_line(result: Result) -> str:
    """A result's message, and the CLI command that tries again when the core names one."""
    retry = result.data.get("retry")
    if isinstance(retry, str) and retry:
        return f"{result.message} To try again, run `mlops-bot {retry}`."
    return result.message


def result_json(result: Result) -> dict[str, Any]:
    return {
        "action": result.action.value,
        "outcome": result.outcome.value,
        "ok": result.ok,
        "message": result.message,
        "actor": result.actor.label,
        "version": result.version,
        "environment": result.environment,
        "required_role": result.required_role.value if result.required_role else None,
        "data": to_jsonable(dict(result.data)),
    }


def status_json(view: StatusView, target: str | None = None) -> dict[str, Any]:
    return {
        "environments": {
            ep.environment: {"endpoint": ep.name, "status": ep.status.value, "version": ep.version}
            for ep in view.environments
            if not target or ep.environment == target
        },
        "versions": [
            {
                "version": v.version,
                "approval": v.approval.value,
                "metrics": dict(v.package.metrics),
                "serving": list(v.environments),
                "validation": None if v.validation is None else v.validation.passed,
                "stage": None if v.package.life_cycle is None else v.package.life_cycle.request(),
            }
            for v in view.versions
        ],
        "executions": [
            {
                "id": e.execution_id,
                "status": e.status.value,
                "requested_by": e.requested_by,
                "model_version": e.model_version,
                "failure_reason": e.failure_reason,
            }
            for e in view.executions
        ],
    }


#: the columns of an audit export, in order (``--json`` has the same keys)
AUDIT_FIELDS = (
    "at",
    "actor_id",
    "actor_name",
    "action",
    "outcome",
    "target",
    "version",
    "detail",
    "break_glass",
)
#: a cell starting with one of these is a formula to a spreadsheet (and a tab or CR may hide one)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def iso_utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def audit_json(entries: Sequence[AuditEntry]) -> list[dict[str, Any]]:
    """One object per entry, every field, the time in ISO 8601 UTC."""
    return [
        {
            "at": iso_utc(e.at),
            "actor_id": e.actor_id,
            "actor_name": e.actor_name,
            "action": e.action.value,
            "outcome": e.outcome.value,
            "target": e.target,
            "version": e.version,
            "detail": e.detail,
            "break_glass": e.break_glass,
        }
        for e in entries
    ]


def inert(cell: object) -> object:
    """A cell a spreadsheet shows as text: names and reasons come from outside, and a leading
    ``=``, ``+``, ``-`` or ``@`` would make it run them as a formula. A quote in front keeps it text."""
    if isinstance(cell, str) and cell.startswith(FORMULA_START):
        return "'" + cell
    return "" if cell is None else cell


def audit_csv(entries: Sequence[AuditEntry]) -> str:
    """RFC 4180 CSV (CRLF line ends, quoted as needed): a header row, then one row per entry."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(AUDIT_FIELDS)
    for row in audit_json(entries):
        writer.writerow([inert(row[name]) for name in AUDIT_FIELDS])
    return out.getvalue()
