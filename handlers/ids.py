"""Button and modal ids, and the release action each asks for: read by renderers, listeners, checks."""

from __future__ import annotations

from collections.abc import Mapping

from bot.core.models import Action

#: approves at once; cards posted before the comment form carry it, so it keeps working
ACTION_APPROVE = "release_approve"
#: the card's Approve button: opens the form with an optional comment
ACTION_APPROVE_FORM = "release_approve_form"
ACTION_REJECT = "release_reject"
ACTION_PROMOTE = "release_promote"
ACTION_ROLLBACK = "release_rollback"
ACTION_ROLLBACK_CONFIRM = "rollback_confirm"
ACTION_ROLLBACK_CANCEL = "rollback_cancel"
ACTION_PROMOTE_CONFIRM = "promote_confirm"
ACTION_PROMOTE_CANCEL = "promote_cancel"
#: the drift card's buttons (its Roll back is ACTION_ROLLBACK, as on a release card)
ACTION_DRIFT_ACKNOWLEDGE = "drift_acknowledge"
ACTION_DRIFT_RETRAIN = "drift_retrain"
#: an expired card's Request again button (approval expiry)
ACTION_REQUEST_APPROVAL = "release_request_approval"
#: the live rollout message's buttons
ACTION_ROLLOUT_STOP = "rollout_stop"
ACTION_ROLLOUT_FINISH = "rollout_finish"

#: Button action ids and the action each one performs. Ids not listed are open (no state change).
BUTTON_ACTIONS: Mapping[str, Action] = {
    ACTION_APPROVE: Action.APPROVE,
    ACTION_APPROVE_FORM: Action.APPROVE,
    ACTION_REJECT: Action.REJECT,
    ACTION_PROMOTE: Action.PROMOTE,
    ACTION_ROLLBACK: Action.ROLLBACK,
    ACTION_ROLLBACK_CONFIRM: Action.ROLLBACK,
    ACTION_PROMOTE_CONFIRM: Action.PROMOTE,
    ACTION_DRIFT_ACKNOWLEDGE: Action.ACKNOWLEDGE,
    ACTION_DRIFT_RETRAIN: Action.TRAIN,
    ACTION_REQUEST_APPROVAL: Action.REQUEST_APPROVAL,
    ACTION_ROLLOUT_STOP: Action.STOP_ROLLOUT,
    ACTION_ROLLOUT_FINISH: Action.FINISH_ROLLOUT,
}

#: the rejection and approval modals, and the block that holds their text (where errors are shown):
#: one block id for both, so that a refusal at submission names a block the modal has
VIEW_REJECT = "reject_reason"
VIEW_APPROVE = "approve_comment"
REJECT_REASON_BLOCK = "reason"
VIEW_ACTIONS: Mapping[str, Action] = {VIEW_REJECT: Action.REJECT, VIEW_APPROVE: Action.APPROVE}
