"""Block Kit for events from outside the bot: GitHub runs, alarms, failed deployments, CI results.

Built with ``slack_sdk.models.blocks`` so Slack's limits are checked here rather than
rejected by the API. Text from outside (workflow names, failure reasons, commit
titles) is escaped: a failure reason must not be able to ping ``@channel``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.ingest.ci import CIIdentity, PipelineResult
from bot.ingest.eventbridge import AlarmChange, EndpointDeploymentChange
from bot.ingest.github import DeploymentStatus, JobFailure, WorkflowRun
from ml.platform import Environment, ExecutionStatus

ROLLBACK_ACTION_ID = "release_rollback"
SIREN = ":rotating_light:"
SECTION_LIMIT = 3000
HEADER_LIMIT = 150


@dataclass(frozen=True)
class Message:
    """A notification: ``text`` is the fallback Slack shows in notifications and to screen readers."""

    text: str
    blocks: list[dict[str, Any]]


def esc(value: object) -> str:
    """Escape Slack's control characters so outside text renders literally."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def link(url: str | None, label: str) -> str:
    # Inside <url|label>, "|" and ">" would end the link early.
    if not url or not url.startswith(("https://", "http://")):
        return esc(label)
    safe_url = url.replace(">", "%3E").replace("|", "%7C").replace(" ", "%20")
    return f"<{safe_url}|{esc(label).replace('|', '¦')}>"


def when(moment: datetime | None) -> str:
    if moment is None:
        return "unknown time"
    ts = int(moment.timestamp())
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{ts}^{{date_short_pretty}} {{time}}|{fallback}>"


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, SECTION_LIMIT)))


def _context(*parts: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(" · ".join(p for p in parts if p), 3000))])


def _header(text: str) -> HeaderBlock:
    return HeaderBlock(text=PlainTextObject(text=clip(text, HEADER_LIMIT), emoji=True))


def rollback_button(production_version: int) -> ButtonElement:
    """The oncall's way out; who may press it is checked when it is pressed."""
    return ButtonElement(
        text=PlainTextObject(text=f"Roll back production (now v{production_version})", emoji=True),
        action_id=ROLLBACK_ACTION_ID,
        value=str(production_version),
        style="danger",
    )


def _done(text: str, blocks: Sequence[Block]) -> Message:
    return Message(text=clip(text, 3000), blocks=[b.to_dict() for b in blocks])


# -- GitHub --------------------------------------------------------------------------------------

_RUN_ICON = {"requested": ":hourglass_flowing_sand:", "in_progress": ":arrows_counterclockwise:"}
_CONCLUSION_ICON = {
    "success": ":white_check_mark:",
    "cancelled": ":no_entry_sign:",
    "skipped": ":fast_forward:",
    "neutral": ":white_circle:",
}


def workflow_run(run: WorkflowRun) -> Message:
    label = f"{run.workflow} #{run.run_number}" if run.run_number else run.workflow
    if run.attempt > 1:
        label += f" (attempt {run.attempt})"
    if run.status == "completed":
        conclusion = run.conclusion or "unknown"
        icon = SIREN if run.failed else _CONCLUSION_ICON.get(conclusion, ":grey_question:")
        state = f"*{conclusion.upper()}*" if run.failed else conclusion
    else:
        icon = _RUN_ICON.get(run.status, ":hourglass_flowing_sand:")
        state = run.status.replace("_", " ")
    headline = f"{icon} {link(run.html_url, label)} in `{esc(run.repository)}`: {state}"
    details = []
    if run.head_branch:
        details.append(f"branch `{esc(run.head_branch)}`")
    if run.head_sha:
        details.append(f"commit `{esc(run.head_sha[:7])}`")
    if run.event:
        details.append(f"on {esc(run.event)}")
    if run.actor:
        details.append(f"by {esc(run.actor)}")
    blocks: list[Block] = [_section(headline)]
    if run.title:
        blocks.append(_section(f"> {esc(run.title)}"))
    if details:
        blocks.append(_context(*details))
    text = f"{label} in {run.repository}: " + (
        f"{SIREN} {run.conclusion} {run.html_url}" if run.failed else state.strip("*")
    )
    return _done(text, blocks)


def job_failure(job: JobFailure) -> Message:
    kind = "Check" if job.source == "check_run" else "Job"
    headline = f"{SIREN} {kind} {link(job.html_url, job.name)} *{esc(job.conclusion.upper())}*"
    blocks: list[Block] = [_section(headline)]
    if job.failed_steps:
        blocks.append(_section("Failed steps: " + ", ".join(f"`{esc(s)}`" for s in job.failed_steps)))
    if job.summary:
        blocks.append(_context(esc(job.summary)))
    text = f"{SIREN} {kind} {job.name} in {job.repository}: {job.conclusion}" + (
        f" {job.html_url}" if job.html_url else ""
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
    state = f"*{status.state.upper()}*" if status.failed else status.state.replace("_", " ")
    headline = (
        f"{icon} Deployment to `{esc(status.environment)}` from `{esc(status.repository)}`: "
        f"{link(status.target_url, state) if status.target_url else state}"
    )
    blocks: list[Block] = [_section(headline)]
    if status.description:
        blocks.append(_section(f"> {esc(status.description)}"))
    details = [
        f"ref `{esc(status.ref)}`" if status.ref else "",
        f"commit `{esc(status.sha[:7])}`" if status.sha else "",
        f"by {esc(status.creator)}" if status.creator else "",
    ]
    blocks.append(_context(*details))
    text = f"Deployment to {status.environment} from {status.repository}: {status.state}"
    if status.failed:
        text = f"{SIREN} {text}"
    return _done(text, blocks)


# -- platform alerts --------------------------------------------------------------------------------


def _rollback_actions(production_version: int | None) -> list[Block]:
    if production_version is None:
        return [_context("Production serves no known version: there is nothing to roll back from here.")]
    return [ActionsBlock(block_id="alert_actions", elements=[rollback_button(production_version)])]


def alarm_alert(alarm: AlarmChange, production_version: int | None) -> Message:
    headline = f"{SIREN} <!here> Production alarm *{esc(alarm.alarm_name)}* is in ALARM"
    blocks: list[Block] = [_header(f"🚨 Production alarm: {alarm.alarm_name}"), _section(headline)]
    if alarm.reason:
        blocks.append(_section(f"> {esc(alarm.reason)}"))
    facts = [
        f"since {when(alarm.at)}",
        f"was {esc(alarm.previous_state)}" if alarm.previous_state else "",
        ", ".join(esc(m) for m in alarm.metrics),
        f"production serves v{production_version}" if production_version is not None else "",
    ]
    blocks.append(_context(*facts))
    if alarm.description:
        blocks.append(_context(esc(alarm.description)))
    blocks.extend(_rollback_actions(production_version))
    text = f"{SIREN} Production alarm {alarm.alarm_name} is in ALARM" + (
        f": {alarm.reason}" if alarm.reason else ""
    )
    return _done(text, blocks)


def alarm_resolved(alarm: AlarmChange) -> Message:
    return _done(
        f":white_check_mark: Production alarm {alarm.alarm_name} is back to {alarm.state}.",
        [
            _section(
                f":white_check_mark: Production alarm *{esc(alarm.alarm_name)}* is back to {alarm.state}."
            )
        ],
    )


def deployment_failure(
    change: EndpointDeploymentChange, environment: Environment, production_version: int | None
) -> Message:
    status = change.status.value if change.status else change.raw_status or "unknown"
    reason = change.failure_reason or "SageMaker gave no reason."
    headline = f"{SIREN} Deployment to *{environment}* (`{esc(change.endpoint_name)}`) failed: {esc(status)}"
    blocks: list[Block] = [
        _header(f"🚨 {environment.capitalize()} deployment failed"),
        _section(headline),
        _section(f"*Reason:* {esc(reason)}"),
    ]
    facts = [
        f"at {when(change.modified_at)}" if change.modified_at else "",
        f"config `{esc(change.pending_config_name or change.config_name)}`"
        if (change.pending_config_name or change.config_name)
        else "",
        *(esc(m) for m in change.stage_messages[:3]),
    ]
    if any(facts):
        blocks.append(_context(*facts))
    if environment == "production":
        blocks.extend(_rollback_actions(production_version))
    text = f"{SIREN} Deployment to {environment} ({change.endpoint_name}) failed: {reason}"
    return _done(text, blocks)


# -- CI ----------------------------------------------------------------------------------------------


def _metrics(metrics: Mapping[str, float]) -> str:
    return ", ".join(f"{esc(k)} {v:.3f}" for k, v in sorted(metrics.items()))


def pipeline_result(report: PipelineResult, caller: CIIdentity) -> Message:
    failed = report.status in (ExecutionStatus.FAILED, ExecutionStatus.STOPPED)
    icon = (
        SIREN
        if report.status is ExecutionStatus.FAILED
        else (":white_check_mark:" if report.status is ExecutionStatus.SUCCEEDED else ":information_source:")
    )
    status = f"*{report.status.value.upper()}*" if failed else report.status.value
    headline = f"{icon} CI reports pipeline run `{esc(report.execution_id)}`: {status}"
    blocks: list[Block] = [_section(headline)]
    if report.version is not None:
        blocks.append(
            _section(
                f"Registered *v{report.version}*"
                + (f": {_metrics(report.metrics)}" if report.metrics else "")
            )
        )
    elif report.metrics:
        blocks.append(_section(_metrics(report.metrics)))
    if report.failure_reason:
        blocks.append(_section(f"*Reason:* {esc(report.failure_reason)}"))
    blocks.append(
        _context(
            f"from `{esc(caller.repository)}`"
            + (f" for `{esc(caller.github_user)}`" if caller.github_user else ""),
            f"commit `{esc(report.git_sha[:7])}`" if report.git_sha else "",
            link(report.run_url, "CI run") if report.run_url else "",
        )
    )
    text = (
        f"{'🚨 ' if report.status is ExecutionStatus.FAILED else ''}Pipeline run {report.execution_id}: "
        + (report.status.value + (f" ({report.failure_reason})" if report.failure_reason else ""))
    )
    return _done(text, blocks)
