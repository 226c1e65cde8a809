"""Approval expiry on the release card (the window, or "expired" with Request again) and the reminder
replies in its thread, mentioning the approver groups."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, PlainTextObject

from bot.core.expiry import Reminder, describe_duration
from bot.slack_text import escape
from handlers.ids import ACTION_REQUEST_APPROVAL
from ml.platform import ApprovalStatus

from .common import context, encode_value, fallback, section, to_dicts, when

if TYPE_CHECKING:
    from .release_card import CardState

__all__ = ["expiry_blocks", "group_mentions", "render_reminder"]


def expiry_blocks(state: CardState, *, with_buttons: bool = True) -> list[Block]:
    """The card's approval window while its version awaits a decision; nothing otherwise."""
    view, window = state.view, state.window
    if window is None or view.decision is not None or view.approval is not ApprovalStatus.PENDING:
        return []
    v = view.version
    if not state.window_closed:
        again = f", requested again by {escape(window.requested_by)}" if window.requested_by else ""
        length = describe_duration(window.expires - window.started)
        return [
            context(f":hourglass_flowing_sand: Approval open until {when(window.expires)} ({length}{again}).")
        ]
    blocks: list[Block] = [
        section(
            f":hourglass: *Approval expired* {when(window.expires)}: approving v{v} is refused until a "
            f"trainer requests approval again."
        )
    ]
    if with_buttons:
        button = ButtonElement(
            text=PlainTextObject(text="Request again"),
            action_id=ACTION_REQUEST_APPROVAL,
            value=encode_value({"v": v}),
        )
        blocks.append(ActionsBlock(block_id=f"expiry-v{v}", elements=[button]))
    return blocks


def group_mentions(handles: Sequence[str], ids: Mapping[str, str]) -> str:
    """``<!subteam^ID|handle>`` for each group Slack knows; ``@handle`` (escaped) for the others."""
    out = [f"<!subteam^{ids[h]}|{escape(h)}>" if h in ids else f"@{escape(h)}" for h in handles]
    return " ".join(out) or "approvers"


def render_reminder(reminder: Reminder, mentions: str) -> tuple[str, list[dict[str, Any]]]:
    text = (
        f":hourglass: {mentions}: v{reminder.version} is waiting for approval; it can be approved until "
        f"{when(reminder.expires)} (another {describe_duration(reminder.lead)})."
    )
    return fallback(text), to_dicts([section(text)])
