"""Block Kit for events from outside the bot: GitHub runs, alarms, failed deployments, CI results.

Built with ``slack_sdk.models.blocks`` so Slack's limits are checked here rather than
rejected by the API. Text from outside (workflow names, failure reasons, commit
titles) is escaped: a failure reason must not be able to ping ``@channel``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    PlainTextObject,
)

from bot.ingest.ci import CIIdentity, PipelineResult
from bot.ingest.github import DeploymentStatus, JobFailure, WorkflowRun
from bot.ingest.models import AlarmStateChange, EndpointDeploymentDetail
from bot.slack_text import escape
from handlers.render.common import MAX_FALLBACK_TEXT, clip, code, context, header, link, quote, section
from handlers.render.common import date as when
from handlers.render.links import LinkError, actions_run_url
from handlers.render.origin import console_link
from ml.platform import Environment, ExecutionStatus

ROLLBACK_ACTION_ID = "release_rollback"
SIREN = ":rotating_light:"


@dataclass(frozen=True)
class Message:
    """A notification: ``text`` is the fallback Slack shows in notifications and to screen readers."""

    text: str
    blocks: list[dict[str, Any]]


def _context(*parts: str) -> Block:
    return context(" · ".join(p for p in parts if p))


def rollback_button(production_version: int) -> ButtonElement:
    """The oncall's way out; who may press it is checked when it is pressed."""
    return ButtonElement(
        text=PlainTextObject(text=f"Roll back production (now v{production_version})", emoji=True),
        action_id=ROLLBACK_ACTION_ID,
        value=str(production_version),
        style="danger",
    )


def _done(text: str, blocks: Sequence[Block]) -> Message:
    """``text`` is composed like the blocks: every outside value in it already escaped."""
    return Message(text=clip(text, MAX_FALLBACK_TEXT), blocks=[b.to_dict() for b in blocks])


# -- GitHub --------------------------------------------------------------------------------------

_RUN_ICON = {"requested": ":hourglass_flowing_sand:", "in_progress": ":arrows_counterclockwise:"}
_CONCLUSION_ICON = {
    "success": ":white_check_mark:",
    "cancelled": ":no_entry_sign:",
    "skipped": ":fast_forward:",
    "neutral": ":white_circle:",
}


def _run_url(repository: str, run_id: int | None) -> str | None:
    """The run's page rebuilt from the payload's repository and run id: a payload URL is not linked."""
    try:
        return actions_run_url(repository, run_id)
    except LinkError:
        return None


def workflow_run(run: WorkflowRun) -> Message:
    label = f"{run.workflow} #{run.run_number}" if run.run_number else run.workflow
    if run.attempt > 1:
        label += f" (attempt {run.attempt})"
    conclusion = run.conclusion or "unknown"
    if run.status == "completed":
        icon = SIREN if run.failed else _CONCLUSION_ICON.get(conclusion, ":grey_question:")
        state = escape(conclusion.upper() if run.failed else conclusion)
    else:
        icon = _RUN_ICON.get(run.status, ":hourglass_flowing_sand:")
        state = escape(run.status.replace("_", " "))
    url = _run_url(run.repository, run.run_id)
    headline = f"{icon} {link(url, label)} in {code(run.repository)}: " + (
        f"*{state}*" if run.failed else state
    )
    details = []
    if run.head_branch:
        details.append(f"branch {code(run.head_branch)}")
    if run.head_sha:
        details.append(f"commit {code(run.head_sha[:7])}")
    if run.event:
        details.append(f"on {escape(run.event)}")
    if run.actor:
        details.append(f"by {escape(run.actor)}")
    blocks: list[Block] = [section(headline)]
    if run.title:
        blocks.append(section(quote(run.title)))
    if details:
        blocks.append(_context(*details))
    text = f"{escape(label)} in {escape(run.repository)}: " + (
        f"{SIREN} {escape(conclusion)} {escape(url or '')}".rstrip() if run.failed else state
    )
    return _done(text, blocks)


def job_failure(job: JobFailure) -> Message:
    kind = "Check" if job.source == "check_run" else "Job"
    url = _run_url(job.repository, job.run_id)
    headline = f"{SIREN} {kind} {link(url, job.name)} *{escape(job.conclusion.upper())}*"
    blocks: list[Block] = [section(headline)]
    if job.failed_steps:
        blocks.append(section("Failed steps: " + ", ".join(code(s) for s in job.failed_steps)))
    if job.summary:
        blocks.append(_context(escape(job.summary)))
    text = f"{SIREN} {kind} {escape(job.name)} in {escape(job.repository)}: {escape(job.conclusion)}" + (
        f" {escape(url)}" if url else ""
    )
    return _done(text, blocks)


_DEPLOY_ICON = {
    "success": ":white_check_mark:",
    "in_progress": ":arrows_counterclockwise:",
    "queued": ":hourglass_flowing_sand:",
    "pending": ":hourglass_flowing_sand:",
    "inactive": ":white_circle:",
}


def deployment_status(status: DeploymentStatus) -> Message:
    icon = SIREN if status.failed else _DEPLOY_ICON.get(status.state, ":grey_question:")
    state = link(status.target_url, status.state.upper() if status.failed else status.state.replace("_", " "))
    headline = f"{icon} Deployment to {code(status.environment)} from {code(status.repository)}: " + (
        f"*{state}*" if status.failed else state
    )
    blocks: list[Block] = [section(headline)]
    if status.description:
        blocks.append(section(quote(status.description)))
    details = [
        f"ref {code(status.ref)}" if status.ref else "",
        f"commit {code(status.sha[:7])}" if status.sha else "",
        f"by {escape(status.creator)}" if status.creator else "",
    ]
    blocks.append(_context(*details))
    text = (
        f"Deployment to {escape(status.environment)} from {escape(status.repository)}: {escape(status.state)}"
    )
    if status.failed:
        text = f"{SIREN} {text}"
    return _done(text, blocks)


# -- platform alerts --------------------------------------------------------------------------------


def _rollback_actions(production_version: int | None) -> list[Block]:
    if production_version is None:
        return [_context("Production serves no known version: there is nothing to roll back from here.")]
    return [ActionsBlock(block_id="alert_actions", elements=[rollback_button(production_version)])]


def alarm_alert(alarm: AlarmStateChange, production_version: int | None) -> Message:
    headline = f"{SIREN} <!here> Production alarm *{escape(alarm.alarm_name)}* is in ALARM"
    blocks: list[Block] = [header(f"🚨 Production alarm: {escape(alarm.alarm_name)}"), section(headline)]
    if alarm.reason:
        blocks.append(section(quote(alarm.reason)))
    facts = [
        f"since {when(alarm.at)}",
        f"was {escape(alarm.previous_state)}" if alarm.previous_state else "",
        ", ".join(escape(m) for m in alarm.detail.metric_labels),
        f"production serves v{production_version}" if production_version is not None else "",
    ]
    blocks.append(_context(*facts))
    if alarm.description:
        blocks.append(_context(escape(alarm.description)))
    blocks.extend(_rollback_actions(production_version))
    text = f"{SIREN} Production alarm {escape(alarm.alarm_name)} is in ALARM" + (
        f": {escape(alarm.reason)}" if alarm.reason else ""
    )
    return _done(text, blocks)


def alarm_resolved(alarm: AlarmStateChange) -> Message:
    name, state = escape(alarm.alarm_name), escape(alarm.state)
    return _done(
        f":white_check_mark: Production alarm {name} is back to {state}.",
        [section(f":white_check_mark: Production alarm *{name}* is back to {state}.")],
    )


def deployment_failure(
    change: EndpointDeploymentDetail, environment: Environment, production_version: int | None
) -> Message:
    status = change.status.value if change.status else change.raw_status or "unknown"
    reason = change.failure_reason or "SageMaker gave no reason."
    where = escape(environment)
    headline = f"{SIREN} Deployment to *{where}* ({code(change.endpoint_name)}) failed: {escape(status)}"
    blocks: list[Block] = [
        header(f"🚨 {where.capitalize()} deployment failed"),
        section(headline),
        section(f"*Reason:* {escape(reason)}"),
    ]
    config = change.pending_config_name or change.config_name
    facts = [
        f"at {when(change.modified_at)}" if change.modified_at else "",
        f"config {code(config)}" if config else "",
        *(escape(m) for m in change.stage_messages[:3]),
    ]
    if any(facts):
        blocks.append(_context(*facts))
    if environment == "production":
        blocks.extend(_rollback_actions(production_version))
    text = f"{SIREN} Deployment to {where} ({escape(change.endpoint_name)}) failed: {escape(reason)}"
    return _done(text, blocks)


# -- CI ----------------------------------------------------------------------------------------------


def _metrics(metrics: Mapping[str, float]) -> str:
    return ", ".join(f"{escape(k)} {v:.3f}" for k, v in sorted(metrics.items()))


def pipeline_result(report: PipelineResult, caller: CIIdentity) -> Message:
    failed = report.status in (ExecutionStatus.FAILED, ExecutionStatus.STOPPED)
    icon = (
        SIREN
        if report.status is ExecutionStatus.FAILED
        else (":white_check_mark:" if report.status is ExecutionStatus.SUCCEEDED else ":information_source:")
    )
    status = f"*{report.status.value.upper()}*" if failed else report.status.value
    headline = f"{icon} CI reports pipeline run {code(report.execution_id)}: {status}"
    blocks: list[Block] = [section(headline)]
    if report.version is not None:
        blocks.append(
            section(
                f"Registered *v{report.version}*"
                + (f": {_metrics(report.metrics)}" if report.metrics else "")
            )
        )
    elif report.metrics:
        blocks.append(section(_metrics(report.metrics)))
    if report.failure_reason:
        blocks.append(section(f"*Reason:* {escape(report.failure_reason)}"))
    blocks.append(
        _context(
            f"from {code(caller.repository)}"
            + (f" for {code(caller.github_user)}" if caller.github_user else ""),
            f"commit {code(report.git_sha[:7])}" if report.git_sha else "",
            # From the token's signed claims, never the body's run_url: that could point anywhere.
            console_link("CI run", actions_run_url, caller.repository, caller.run_id or ""),
        )
    )
    siren = "🚨 " if report.status is ExecutionStatus.FAILED else ""
    text = f"{siren}Pipeline run {escape(report.execution_id)}: {report.status.value}" + (
        f" ({escape(report.failure_reason)})" if report.failure_reason else ""
    )
    return _done(text, blocks)
