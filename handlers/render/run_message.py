"""The run message: one message per pipeline execution, updated in place as steps progress."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import Block

from bot.slack_text import escape
from ml.platform import PIPELINE_STEPS, Execution, ExecutionStatus, StepInfo, StepStatus

from . import links
from .common import code, context, duration, fallback, header, mention, quote, section, to_dicts, truncate
from .origin import console_link, git_line, logs_line
from .parameters import changed_parameters, data_file_name

__all__ = ["render_run", "run_key", "short_execution_id"]

STEP_EMOJI = {
    StepStatus.PENDING: ":white_circle:",
    StepStatus.STARTING: ":large_blue_circle:",
    StepStatus.EXECUTING: ":arrows_counterclockwise:",
    StepStatus.STOPPING: ":double_vertical_bar:",
    StepStatus.STOPPED: ":black_square_for_stop:",
    StepStatus.FAILED: ":x:",
    StepStatus.SUCCEEDED: ":white_check_mark:",
}

RUN_EMOJI = {
    ExecutionStatus.EXECUTING: ":arrows_counterclockwise:",
    ExecutionStatus.STOPPING: ":double_vertical_bar:",
    ExecutionStatus.STOPPED: ":black_square_for_stop:",
    ExecutionStatus.FAILED: ":x:",
    ExecutionStatus.SUCCEEDED: ":white_check_mark:",
}


def run_key(execution_id: str) -> str:
    """One key per run whether it is named by its ARN (platform events) or its short id (the bot)."""
    return f"run:{short_execution_id(execution_id)}"


def short_execution_id(execution_id: str) -> str:
    """SageMaker execution ARNs end in the id people recognise."""
    return execution_id.rsplit("/", 1)[-1]


def _steps(execution: Execution) -> list[StepInfo]:
    by_name = {s.name: s for s in execution.steps}
    ordered = [by_name.get(name, StepInfo(name, StepStatus.PENDING)) for name in PIPELINE_STEPS]
    ordered += [s for s in execution.steps if s.name not in PIPELINE_STEPS]
    return ordered


def _step_line(step: StepInfo, now: datetime | None) -> str:
    took = duration(step.started_at, step.ended_at, now)
    line = f"{STEP_EMOJI.get(step.status, ':grey_question:')} *{escape(step.name)}* — {step.status.value}"
    if took:
        line += f" ({took})"
    if step.failure_reason:
        line += "\n" + quote(truncate(step.failure_reason, 400))
    return line


def render_run(execution: Execution, now: datetime | None = None) -> tuple[str, list[dict[str, Any]]]:
    short = escape(short_execution_id(execution.execution_id))
    status = execution.status
    params = changed_parameters(execution.parameters)
    data = data_file_name(execution.parameters)
    if data:
        params = f"{params} on {data}"
    took = duration(execution.started_at, execution.ended_at, now)
    blocks: list[Block] = [
        header(f"Training run {short}"),
        section(
            f"{RUN_EMOJI.get(status, ':grey_question:')} *{status.value}*"
            + (f" after {took}" if status.terminal and took else "")
        ),
        section("\n".join(_step_line(s, now) for s in _steps(execution))),
    ]
    if status is ExecutionStatus.SUCCEEDED and execution.model_version is not None:
        blocks.append(
            section(f":package: Registered *v{execution.model_version}*: its release card is in the channel.")
        )
    elif status is ExecutionStatus.FAILED:
        failed = next((s for s in execution.steps if s.status is StepStatus.FAILED), None)
        where = f" at *{escape(failed.name)}*" if failed else ""
        reason = execution.failure_reason or (failed.failure_reason if failed else None) or "no reason given"
        blocks.append(section(f":x: Failed{where}: {escape(truncate(reason, 1500))}"))
    elif status is ExecutionStatus.STOPPED:
        blocks.append(section(":black_square_for_stop: Stopped before registering a model."))
    requested = mention(execution.requested_by) if execution.requested_by else "unknown"
    origin = {**execution.origin, "git_sha": execution.git_sha or ""}
    git = f" · git {git_line(origin)}" if execution.git_sha or "git_state" in origin else ""
    run = code(short_execution_id(execution.execution_id), 120)
    blocks.append(context(f"Requested by {requested} · {code(params, 1200)}{git} · run {run}"))
    sources = [
        logs_line(origin),
        console_link(
            "CI run", links.actions_run_url, origin.get("ci_repository", ""), origin.get("ci_run", "")
        ),
    ]
    if any(sources):
        blocks.append(context(*(w for w in sources if w)))
    text = f"Training run {short}: {status.value}"
    if status is ExecutionStatus.SUCCEEDED and execution.model_version is not None:
        text += f", registered v{execution.model_version}"
    return fallback(text), to_dicts(blocks)
