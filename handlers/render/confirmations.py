"""The confirmation every change to production asks for: promote and rollback, typed or clicked.

Each names the endpoint and the versions from and to; nothing changes until the Confirm button,
and the permission middleware checks the clicker again then.
"""

from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, PlainTextObject

from bot.core.service import PromotePlan, RollbackPlan
from bot.slack_text import escape
from handlers.ids import (
    ACTION_PROMOTE_CANCEL,
    ACTION_PROMOTE_CONFIRM,
    ACTION_ROLLBACK_CANCEL,
    ACTION_ROLLBACK_CONFIRM,
)

from .common import Message, code, context, encode_value, fallback, section, to_dicts
from .freeze import render_break_glass_confirmation
from .rollout import promote_value, rollback_path_words, rollout_line

__all__ = ["render_promote_confirmation", "render_rollback_confirmation"]

_NOTE = "Nothing changes until you confirm; your permission is checked again then."


def _confirmation(
    text: str, plain: str, block_id: str, confirm: tuple[str, str], cancel: str, value: str
) -> Message:
    label, action_id = confirm
    buttons = ActionsBlock(
        block_id=block_id,
        elements=[
            ButtonElement(text=PlainTextObject(text=label), action_id=action_id, value=value, style="danger"),
            ButtonElement(text=PlainTextObject(text="Cancel"), action_id=cancel, value=value),
        ],
    )
    return fallback(plain), to_dicts([section(text), buttons, context(_NOTE)])


def render_rollback_confirmation(plan: RollbackPlan) -> Message:
    value = encode_value({"env": plan.environment, "from": plan.from_version, "to": plan.to_version})
    env = escape(plan.environment)
    path = rollback_path_words(plan.path, plan.to_version)
    text = (
        f":warning: Roll back *{env}*: endpoint {code(plan.endpoint, 120)} "
        f"goes from *v{plan.from_version}* to *v{plan.to_version}*.\n{path}"
    )
    plain = (
        f"Roll back {env} ({escape(plan.endpoint)}) from v{plan.from_version} to v{plan.to_version}? {path}"
    )
    confirm = (f"Confirm: roll back to v{plan.to_version}", ACTION_ROLLBACK_CONFIRM)
    return _confirmation(text, plain, "rollback-confirm", confirm, ACTION_ROLLBACK_CANCEL, value)


def render_promote_confirmation(plan: PromotePlan) -> Message:
    if plan.break_glass:
        return render_break_glass_confirmation(plan)
    value = encode_value(promote_value(plan))
    was = f"*v{plan.from_version}*" if plan.from_version is not None else "no model"
    how = rollout_line(plan)
    text = (
        f":warning: Promote *v{plan.version}* to *production*: endpoint {code(plan.endpoint, 120)} "
        f"goes from {was} to *v{plan.version}*.\n{how}"
    )
    was_plain = f"v{plan.from_version}" if plan.from_version is not None else "no model"
    plain = f"Promote v{plan.version} to production ({escape(plan.endpoint)}), from {was_plain}? {how}"
    confirm = (f"Confirm: promote v{plan.version} to production", ACTION_PROMOTE_CONFIRM)
    return _confirmation(text, plain, "promote-confirm", confirm, ACTION_PROMOTE_CANCEL, value)
