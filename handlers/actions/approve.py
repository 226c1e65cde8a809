"""The Approve button of a release card: opens the approval modal (optional comment).

``views.approve`` handles the submission: it approves, then staging deploys and validates.
The older one-click id (``ACTION_APPROVE``) still approves at once, for cards posted before.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest, Respond
from slack_sdk import WebClient

from bot.core.service import ReleaseService
from handlers.ids import ACTION_APPROVE, ACTION_APPROVE_FORM
from handlers.views.approve import approve_modal

from .button import open_form, run_switch


def approve_open(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
    """Acks, then opens the modal at once: its ``trigger_id`` is valid for 3 seconds only."""
    ack()
    open_form(approve_modal, "/mlops approve v{v} [comment]", body, client, respond)


def approve_ack(ack: Ack) -> None:
    ack()


def approve_run(body: dict[str, Any], context: BoltContext, respond: Respond, request: BoltRequest) -> None:
    run_switch("approve", ReleaseService.approve, body, context, respond, request)


def register(app: App) -> None:
    app.action(ACTION_APPROVE_FORM)(approve_open)
    app.action(ACTION_APPROVE)(ack=approve_ack, lazy=[approve_run])
