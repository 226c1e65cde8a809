"""The Cancel button of a confirmation (promote or rollback): replaces it with a note that nothing changed."""

from __future__ import annotations

from slack_bolt import Ack, App, Respond

from handlers.ids import ACTION_PROMOTE_CANCEL, ACTION_ROLLBACK_CANCEL

from .button import tell, text_reply


def cancel_ack(ack: Ack) -> None:
    ack()


# Two functions, not one: Bolt finds a lazy listener by its function's name.
def promote_cancel_run(respond: Respond) -> None:
    tell(respond, text_reply("Promote cancelled; nothing changed."), replace=True)


def rollback_cancel_run(respond: Respond) -> None:
    tell(respond, text_reply("Rollback cancelled; nothing changed."), replace=True)


def register(app: App) -> None:
    app.action(ACTION_PROMOTE_CANCEL)(ack=cancel_ack, lazy=[promote_cancel_run])
    app.action(ACTION_ROLLBACK_CANCEL)(ack=cancel_ack, lazy=[rollback_cancel_run])
