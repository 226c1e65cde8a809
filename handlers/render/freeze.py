"""Change freezes in Slack: the break-glass confirmation, channel notices, and the audit's flag.

Reasons and names are outside text: escaped here before they reach Slack.
"""

from __future__ import annotations

import re

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, PlainTextObject

from bot.core.models import Action, AuditEntry, Outcome, Result
from bot.core.service import PromotePlan
from bot.slack_text import escape
from handlers.ids import ACTION_PROMOTE_CANCEL, ACTION_PROMOTE_CONFIRM

from .common import Message, code, context, encode_value, fallback, mention, section, to_dicts
from .rollout import promote_value, rollout_line

__all__ = [
    "BREAK_GLASS_MARK",
    "audit_mark",
    "freeze_notice",
    "frozen_deploy_note",
    "releasers_mention",
    "render_break_glass_confirmation",
]

BREAK_GLASS_MARK = ":rotating_light: *break-glass*"
#: a Slack user group id, as ``<!subteam^ID>`` needs it
_GROUP_ID = re.compile(r"S[A-Z0-9]{2,30}")
_NOTE = (
    "Nothing changes until you confirm; your permission and the freeze are checked again then. "
    "The channel is told, with the releasers mentioned, and the audit log flags it."
)


def releasers_mention(group_id: str, handles: list[str]) -> str:
    """The releasers' user group as a mention when its id is configured, else its handle as text."""
    if _GROUP_ID.fullmatch(group_id):
        return f"<!subteam^{group_id}>"
    return escape(f"@{handles[0]}") if handles else "the releasers"


def render_break_glass_confirmation(plan: PromotePlan) -> Message:
    """The promote confirmation, saying it breaks a freeze and naming the freeze and the reason."""
    value = _inert(encode_value(promote_value(plan)))
    was = f"*v{plan.from_version}*" if plan.from_version is not None else "no model"
    text = (
        f":rotating_light: *Break-glass* — {escape(plan.freeze)}.\n"
        f"Promote *v{plan.version}* to *production* anyway: endpoint {code(plan.endpoint, 120)} "
        f"goes from {was} to *v{plan.version}*.\nReason: {escape(plan.break_glass)}\n{rollout_line(plan)}"
    )
    plain = f"Break-glass: promote v{plan.version} to production through the freeze ({escape(plan.freeze)})?"
    buttons = ActionsBlock(
        block_id="promote-confirm",
        elements=[
            ButtonElement(
                text=PlainTextObject(text=f"Break glass: promote v{plan.version}"),
                action_id=ACTION_PROMOTE_CONFIRM,
                value=value,
                style="danger",
            ),
            ButtonElement(text=PlainTextObject(text="Cancel"), action_id=ACTION_PROMOTE_CANCEL, value=value),
        ],
    )
    return fallback(plain), to_dicts([section(text), buttons, context(_NOTE)])


def _inert(value: str) -> str:
    """A button value whose reason cannot read as Slack markup anywhere it is echoed: ``<``, ``>`` and
    ``&`` as JSON escapes, which decode back to the same reason."""
    return value.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def freeze_notice(result: Result, releasers: str) -> str | None:
    """The channel's top-level line for a freeze, an unfreeze or a break-glass switch; None otherwise."""
    if result.outcome is not Outcome.DONE:
        return None
    who = mention(result.actor.id, result.actor.label)
    if result.action is Action.FREEZE:
        return f":snowflake: {escape(result.message)} — {who}"
    if result.action is Action.UNFREEZE:
        return f":sunny: {escape(result.message)} — {who}"
    reason = result.data.get("break_glass")
    if result.action in (Action.PROMOTE, Action.DEPLOY) and isinstance(reason, str) and reason:
        freeze = escape(str(result.data.get("freeze", "")))
        return (
            f":rotating_light: {releasers} *Break-glass* by {who}: v{result.version} went to "
            f"{escape(result.environment or '')} through a freeze ({freeze}). Reason: {escape(reason)}"
        )
    return None


def frozen_deploy_note(result: Result) -> str | None:
    """Why an approval's automatic staging deploy did not happen, for the card's thread; None otherwise."""
    frozen = result.data.get("frozen")
    if result.action is not Action.DEPLOY or not result.actor.system or not isinstance(frozen, str):
        return None
    return (
        f":snowflake: {escape(result.message)} Once the freeze ends, deploy it with "
        f"{code(f'/mlops deploy v{result.version} staging')}."
    )


def audit_mark(entry: AuditEntry) -> str:
    """What an audit line starts with besides its emoji: the break-glass flag, when set."""
    return f"{BREAK_GLASS_MARK} " if entry.break_glass else ""
