"""The release card: one message per model version, updated in place at every change.

It shows the version's metrics against production, its lineage, the quality gate,
where it serves, who decided what, and only the buttons that apply right now. The
buttons are a convenience: every click is checked again on the server.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    DividerBlock,
    PlainTextObject,
)

from bot.core.evidence import Evidence
from bot.core.expiry import Window
from bot.core.lifecycle import PendingStage
from bot.core.models import ApprovalStatus, DeploymentRecord, VersionView
from bot.core.service import AUTO_APPROVER
from bot.slack_text import escape
from handlers.ids import ACTION_APPROVE, ACTION_APPROVE_FORM, ACTION_PROMOTE, ACTION_REJECT, ACTION_ROLLBACK
from ml.platform import Environment
from ml.rollout_state import WarmStandby

from . import links
from .approval_expiry import expiry_blocks
from .approvals import approval_blocks
from .common import (
    MAX_BUTTON_TEXT,
    code,
    context,
    encode_value,
    fallback,
    header,
    mention,
    section,
    to_dicts,
    truncate,
    when,
)
from .evidence import evidence_blocks
from .lifecycle import life_cycle_line
from .origin import console_link, git_line, logs_line
from .parameters import changed_parameters, data_file_name
from .rollout import warm_standby_line
from .validation import accuracy_note

__all__ = [
    "ACTION_APPROVE",
    "ACTION_PROMOTE",
    "ACTION_REJECT",
    "ACTION_ROLLBACK",
    "METRICS",
    "CardState",
    "card_key",
    "render_card",
]

METRICS: tuple[tuple[str, str], ...] = (
    ("accuracy", "Accuracy"),
    ("precision", "Precision"),
    ("recall", "Recall"),
    ("f1", "F1"),
    ("auc", "AUC"),
)

APPROVAL_EMOJI = {
    ApprovalStatus.PENDING: ":hourglass_flowing_sand:",
    ApprovalStatus.APPROVED: ":white_check_mark:",
    ApprovalStatus.REJECTED: ":no_entry_sign:",
}

MAX_ACTIVITY_LINES = 15
AUTO_APPROVER_NAME = AUTO_APPROVER.name


def card_key(version: int) -> str:
    return f"card:v{version}"


@dataclass(frozen=True)
class CardState:
    """What a card renders: the merged view plus this version's deployment records."""

    view: VersionView
    deployments: Sequence[DeploymentRecord] = ()
    #: the version a production rollback would return to, when this version serves production
    rollback_to: int | None = None
    #: the endpoint name of each environment the version serves (for console links)
    endpoint_names: Mapping[Environment, str] = field(default_factory=dict)
    #: the version's approval window (approval expiry), and whether it closed
    window: Window | None = None
    window_closed: bool = False
    #: a registry stage the bot still owes after a failed write (``bot.core.lifecycle``)
    life_cycle_pending: PendingStage | None = None
    #: champion against challenger, data, validation and package (None: not gathered)
    evidence: Evidence | None = None
    #: the version production served before this one, kept warm for an instant rollback
    warm: WarmStandby | None = None


def _metric(view: VersionView, key: str) -> str:
    value = view.package.metrics.get(key)
    if not isinstance(value, int | float):
        return "—"
    text = f"{value:.3f}"
    prod = view.production_metrics
    if prod is None or view.production_version is None:
        return text
    if view.production_version == view.version:
        return f"{text} (in production)"
    base = prod.get(key)
    if not isinstance(base, int | float):
        return text
    delta = f"{value - base:+.3f}"
    if delta in ("+0.000", "-0.000"):  # equal at the precision shown
        return f"{text} (= v{view.production_version})"
    return f"{text} ({delta} vs v{view.production_version})"


def _gate(view: VersionView) -> str:
    accuracy = view.package.metrics.get("accuracy")
    raw = view.package.lineage.get("threshold", "")
    try:
        threshold: float | None = float(raw)
    except ValueError:
        threshold = None
    if not isinstance(accuracy, int | float) or threshold is None:
        return "*Quality gate*\nregistered (threshold not recorded)"
    ok = accuracy >= threshold
    mark = ":white_check_mark: passed" if ok else ":x: below threshold"
    return f"*Quality gate*\n{mark}: accuracy {accuracy:.3f} vs threshold {threshold:g}"


def _recorded(lineage: dict[str, str] | Any) -> dict[str, Any]:
    """The run's parameters as the registry recorded them (JSON), hyperparameters included."""
    merged: dict[str, Any] = {}
    for key in ("parameters", "hyperparameters"):
        raw = lineage.get(key, "")
        if not raw:
            continue
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        if isinstance(value, dict):
            merged.update(value)
        else:
            merged[key] = raw
    return merged


def _dataset(lineage: dict[str, str] | Any, recorded: dict[str, Any]) -> str:
    """The data set by file name and hash: never the directory it was read from."""
    digest = str(lineage.get("dataset_sha256", ""))
    name = data_file_name(recorded)
    parts = [code(name, 120)] if name else []
    if digest:
        parts.append(f"sha256 {code(digest[:12])}")
    return " · ".join(parts) or "not recorded"


def _console_links(state: CardState) -> list[str]:
    """Console pages of a SageMaker version: its group in the registry, its endpoints and their logs."""
    pkg = state.view.package
    found = [console_link("Model registry", links.model_registry_url, pkg.arn, pkg.group)]
    for env in state.view.environments:
        name = state.endpoint_names.get(env, "")
        found.append(console_link(f"{env} endpoint", links.endpoint_url, pkg.arn, name))
        found.append(console_link(f"{env} endpoint logs", links.endpoint_logs_url, pkg.arn, name))
    if job := str(pkg.lineage.get("training_job_arn", "")):
        found.append(console_link("training logs", links.training_job_logs_url, job))
    return [f for f in found if f]


def _approval_note(view: VersionView) -> str:
    """How the version came to be approved, when no approver decided it in the bot."""
    if view.approved_outside:
        return (
            ":warning: *Approved outside mlops-bot*: it cannot be deployed until an approver "
            "approves it here."
        )
    if view.decision is not None and view.decision.actor_name == AUTO_APPROVER_NAME:
        return ":robot_face: *Auto-approved*: this deployment approves new versions (MLOPS_AUTO_APPROVE)."
    return ""


def _status_line(view: VersionView) -> str:
    approval = f"{APPROVAL_EMOJI[view.approval]} *{view.approval.value}*"
    serving = (
        "serves " + " and ".join(f"*{escape(e)}*" for e in view.environments)
        if view.environments
        else "not serving"
    )
    if view.validation is None:
        validation = "no staging validation yet"
    else:
        verdict = ":white_check_mark: passed" if view.validation.passed else ":x: failed"
        validation = f"staging validation {verdict}"
    return f"{approval} · {serving} · {validation}"


def _activity(state: CardState) -> list[str]:
    view = state.view
    lines: list[tuple[str, str]] = []
    pkg = view.package
    lines.append((pkg.created_at.isoformat(), f"Registered {when(pkg.created_at)}"))
    if view.decision is not None:
        d = view.decision
        verb = "Approved" if d.status is ApprovalStatus.APPROVED else "Rejected"
        who = mention(d.actor_id, d.actor_name)
        reason = f": {escape(truncate(d.reason, 300))}" if d.reason else ""
        lines.append((d.at.isoformat(), f"{verb} by {who} {when(d.at)}{reason}"))
    for rec in state.deployments:
        verb = {"deploy": "Deployed to", "promote": "Promoted to", "rollback": "Rolled back to it on"}[
            rec.kind
        ]
        prev = f" (was v{rec.previous_version})" if rec.previous_version is not None else ""
        who = mention(rec.actor_id, rec.actor_name)
        lines.append((rec.at.isoformat(), f"{verb} {escape(rec.environment)}{prev} by {who} {when(rec.at)}"))
    if view.validation is not None:
        v = view.validation
        verdict = "passed" if v.passed else "FAILED"
        summary = f": {escape(truncate(v.summary, 300))}" if v.summary else ""
        lines.append((v.at.isoformat(), f"Staging validation {verdict} {when(v.at)}{summary}"))
    lines.sort(key=lambda item: item[0])
    out = [text for _, text in lines]
    if len(out) > MAX_ACTIVITY_LINES:
        out = [f"… {len(out) - MAX_ACTIVITY_LINES} earlier", *out[-MAX_ACTIVITY_LINES:]]
    return out


def _button(text: str, action_id: str, value: str, style: str | None = None) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=truncate(text, MAX_BUTTON_TEXT), emoji=True),
        action_id=action_id,
        value=value,
        style=style,
    )


def buttons(state: CardState) -> list[ButtonElement]:
    """The buttons that apply to this version now (the server re-checks each click)."""
    view = state.view
    value = encode_value({"v": view.version})
    out: list[ButtonElement] = []
    expired = state.window_closed and view.approval is ApprovalStatus.PENDING  # Request again instead
    if (view.approval is ApprovalStatus.PENDING or view.approved_outside) and not expired:
        out.append(_button(f"Approve v{view.version}…", ACTION_APPROVE_FORM, value, "primary"))
    if view.approval is ApprovalStatus.PENDING:
        out.append(_button(f"Reject v{view.version}…", ACTION_REJECT, value, "danger"))
    if view.promotable:
        # asks first, naming the endpoint and the versions from and to, as the typed command does
        out.append(_button(f"Promote v{view.version} to production…", ACTION_PROMOTE, value, "primary"))
    if "production" in view.environments and state.rollback_to is not None:
        label = f"Roll back production to v{state.rollback_to}…"
        out.append(_button(label, ACTION_ROLLBACK, value, "danger"))
    return out


def render_card(state: CardState, *, with_buttons: bool = True) -> tuple[str, list[dict[str, Any]]]:
    view = state.view
    pkg = view.package
    lineage = pkg.lineage
    fields = [f"*{label}*\n{_metric(view, key)}" for key, label in METRICS]
    fields.append(_gate(view))
    who = lineage.get("requested_by", "")
    trained_by = mention(who) if who else "unknown"
    run = lineage.get("execution_id", "")
    recorded = _recorded(lineage)
    lineage_lines = [
        f"*Trained by* {trained_by}",
        f"*Git* {git_line(lineage)}",
        f"*Dataset* {_dataset(lineage, recorded)}",
        f"*Parameters* {code(changed_parameters(recorded), 1500)}",
    ]
    if run:
        lineage_lines.append(f"*Run* {code(run.rsplit('/', 1)[-1], 120)}")
    if logs := logs_line(lineage):
        lineage_lines.append(logs)
    lineage_lines.append(life_cycle_line(pkg, state.life_cycle_pending))
    if console := _console_links(state):
        lineage_lines.append("*Links* " + " · ".join(console))
    if view.requester_note and view.approval is ApprovalStatus.PENDING:
        lineage_lines.append(f":warning: {escape(view.requester_note)}")
    blocks: list[Block] = [
        header(f"Model v{view.version} · {escape(pkg.group)}"),
        section(_status_line(view)),
        *([section(warm_standby_line(state.warm))] if state.warm is not None else []),
        *([section(note)] if (note := _approval_note(view)) else []),
        *approval_blocks(view),
        *expiry_blocks(state, with_buttons=with_buttons),
        section("", fields),
        section("\n".join(lineage_lines)),
        *(evidence_blocks(state.evidence, pkg.group) if state.evidence is not None else []),
        DividerBlock(),
        section("\n".join(_activity(state))),
        *([section(agreement)] if (agreement := accuracy_note(view)) else []),
    ]
    actions = buttons(state) if with_buttons else []
    if actions:
        blocks.append(ActionsBlock(block_id=f"card-v{view.version}", elements=actions))
    if with_buttons and (why := view.not_promotable_because) and view.approval is not ApprovalStatus.REJECTED:
        # the block id lets a reader (the local chat's :click) say why Promote is missing
        blocks.append(context(f"Promote is not offered: {why}.", block_id=f"why-v{view.version}"))
    text = f"Model v{view.version}: {view.approval.value}" + (
        f", serving {escape(', '.join(view.environments))}" if view.environments else ""
    )
    return fallback(text), to_dicts(blocks)
