"""What the CLI prints with ``--json``: results, status and any dataclass, as plain JSON values."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from bot.core.models import Result
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
