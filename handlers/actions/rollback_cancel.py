"""The Cancel button of a rollback confirmation: replaces it with a note that nothing changed."""

from __future__ import annotations

from slack_bolt import Ack, App, Respond

from handlers.ids import ACTION_ROLLBACK_CANCEL

from .button import tell, text_reply


def rollback_cancel_ack(ack: Ack) -> None:
    ack()


def rollback_cancel_run(respond: Respond) -> None:
    tell(respond, text_reply("Rollback cancelled; nothing changed."), replace=True)


def register(app: App) -> None:
    app.action(ACTION_ROLLBACK_CANCEL)(ack=rollback_cancel_ack, lazy=[rollback_cancel_run])
