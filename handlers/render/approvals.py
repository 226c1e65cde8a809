"""The approval line of a release card under an N-of-M rule: who approved, who is still awaited, and
why earlier approvals were voided (the artifact they were bound to changed)."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.core.models import ApprovalStatus, VersionView
from bot.core.votes import Vote
from bot.slack_text import escape

from .common import mention, section

__all__ = ["approval_blocks", "approval_text"]


def _voter(vote: Vote) -> str:
    return mention(vote.actor_id, "@" + vote.actor_name)


def approval_text(view: VersionView) -> str:
    """``1 of 2 approvals: @bob ✓, waiting for one more from ml-approvers`` ("" when not counted)."""
    tally = view.approvals
    if tally is None or view.approval is ApprovalStatus.REJECTED:
        return ""
    if view.approval is ApprovalStatus.APPROVED and not tally.votes:
        return ""  # approved before the rule, outside the bot, or automatically
    lines = [f":ballot_box_with_check: {tally.line(_voter, escape)}"]
    if tally.voided is not None and view.approval is ApprovalStatus.PENDING:
        who = ", ".join(escape(n) for n in tally.voided.voters)
        gone = f" ({who} no longer count)" if who else ""
        lines.append(f":warning: {escape(tally.voided.reason)}{gone}")
    return "\n".join(lines)


def approval_blocks(view: VersionView) -> list[Block]:
    text = approval_text(view)
    return [section(text)] if text else []
