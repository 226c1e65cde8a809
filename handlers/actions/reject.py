"""The Reject button of a release card: opens the reason modal (``views.reject`` handles its submission)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from handlers.ids import ACTION_REJECT
from handlers.views.reject import reject_modal

from .button import open_form


def reject_open(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
    """Acks, then opens the modal at once: its ``trigger_id`` is valid for 3 seconds only."""
    ack()
    open_form(reject_modal, "/mlops reject v{v} <reason>", body, client, respond)


def register(app: App) -> None:
    app.action(ACTION_REJECT)(reject_open)
