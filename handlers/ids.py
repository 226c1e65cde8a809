"""Button and modal ids, and the release action each asks for: read by renderers, listeners, checks."""

from __future__ import annotations

from collections.abc import Mapping

from bot.core.models import Action

ACTION_APPROVE = "release_approve"
ACTION_REJECT = "release_reject"
ACTION_PROMOTE = "release_promote"
ACTION_ROLLBACK = "release_rollback"
ACTION_ROLLBACK_CONFIRM = "rollback_confirm"
ACTION_ROLLBACK_CANCEL = "rollback_cancel"
ACTION_PROMOTE_CONFIRM = "promote_confirm"
ACTION_PROMOTE_CANCEL = "promote_cancel"

#: Button action ids and the action each one performs. Ids not listed are open (no state change).
BUTTON_ACTIONS: Mapping[str, Action] = {
    ACTION_APPROVE: Action.APPROVE,
    ACTION_REJECT: Action.REJECT,
    ACTION_PROMOTE: Action.PROMOTE,
    ACTION_ROLLBACK: Action.ROLLBACK,
    ACTION_ROLLBACK_CONFIRM: Action.ROLLBACK,
    ACTION_PROMOTE_CONFIRM: Action.PROMOTE,
}

#: the rejection modal, and the block that holds its reason (where errors are shown)
VIEW_REJECT = "reject_reason"
REJECT_REASON_BLOCK = "reason"
VIEW_ACTIONS: Mapping[str, Action] = {VIEW_REJECT: Action.REJECT}
