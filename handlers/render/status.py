"""Read-only answers: overall status, one environment, history (the audit log is in ``audit``)."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block, DividerBlock

from bot.core.models import DeploymentRecord, VersionView
from bot.core.service import StatusView
from bot.slack_text import escape
from ml.platform import EndpointInfo, EndpointStatus, Execution

from .common import (
    Message,
    code,
    fallback,
    header,
    mention,
    quote,
    section,
    to_dicts,
    truncate,
    when,
)
from .lifecycle import stage_word
from .run_message import RUN_EMOJI, short_execution_id

__all__ = [
    "render_environment",
    "render_history",
    "render_status",
]


def _endpoint_line(info: EndpointInfo) -> str:
    ok = info.status is EndpointStatus.IN_SERVICE
    mark = ":large_green_circle:" if ok else ":red_circle:"
    serving = f"v{info.version}" if info.version is not None else "no model"
    line = (
        f"{mark} *{escape(info.environment)}* {code(info.name, 100)} — "
        f"{escape(info.status.value)}, serves *{serving}*"
    )
    if info.failure_reason:
        line += "\n" + quote(truncate(info.failure_reason, 300))
    return line


def _version_line(view: VersionView) -> str:
    acc = view.package.metrics.get("accuracy")
    parts = [f"*v{view.version}*", view.approval.value]
    if isinstance(acc, int | float):
        parts.append(f"accuracy {acc:.3f}")
    if view.environments:
        parts.append("serves " + " and ".join(escape(e) for e in view.environments))
    if view.validation is not None:
        parts.append("validation " + ("passed" if view.validation.passed else "failed"))
    parts.append("stage " + stage_word(view.package.life_cycle))
    return " · ".join(parts)


def _execution_line(execution: Execution) -> str:
    short = short_execution_id(execution.execution_id)
    line = f"{RUN_EMOJI.get(execution.status, '')} {code(short, 80)} {execution.status.value}"
    if execution.model_version is not None:
        line += f" → v{execution.model_version}"
    return line + f" · {when(execution.started_at)}"


def render_status(status: StatusView) -> Message:
    blocks: list[Block] = [
        header("MLOps status"),
        section("\n".join(_endpoint_line(e) for e in status.environments) or "No endpoint is known."),
        DividerBlock(),
        section(
            "*Latest versions*\n"
            + ("\n".join(_version_line(v) for v in status.versions) or "none registered")
        ),
        section(
            "*Recent runs*\n" + ("\n".join(_execution_line(x) for x in status.executions) or "none started")
        ),
    ]
    text = "; ".join(
        f"{escape(e.environment)}: " + (f"v{e.version}" if e.version is not None else "no model")
        for e in status.environments
    )
    return fallback(f"MLOps status — {text}"), to_dicts(blocks)


def render_environment(info: EndpointInfo, records: Sequence[DeploymentRecord]) -> Message:
    env = escape(info.environment)
    blocks: list[Block] = [header(f"{env.capitalize()} endpoint"), section(_endpoint_line(info))]
    if records:
        blocks.append(
            section("*Recent changes*\n" + "\n".join(_deployment_line(r) for r in records[-5:][::-1]))
        )
    serving = f"v{info.version}" if info.version is not None else "no model"
    return fallback(f"{env}: {escape(info.status.value)}, serves {serving}"), to_dicts(blocks)


def _deployment_line(rec: DeploymentRecord) -> str:
    prev = f" (was v{rec.previous_version})" if rec.previous_version is not None else ""
    return f"{when(rec.at)} · {rec.kind} *v{rec.version}*{prev} by {mention(rec.actor_id, rec.actor_name)}"


def render_history(environment: str, records: Sequence[DeploymentRecord], limit: int = 30) -> Message:
    environment = escape(environment)
    if not records:
        text = f"No deployments to {environment} recorded yet."
        return text, to_dicts([section(text)])
    shown = list(records)[-limit:][::-1]
    lines = "\n".join(_deployment_line(r) for r in shown)
    more = f"\n… {len(records) - limit} older" if len(records) > limit else ""
    blocks: list[Block] = [header(f"Deployment history: {environment}"), section(lines + more)]
    return fallback(f"Deployment history of {environment}: {len(records)} change(s)"), to_dicts(blocks)
