"""The reject-reason modal: opened by the Reject button, submitted with the reason (required)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest
from slack_sdk import WebClient

from bot.core.service import ReleaseService
from handlers.ids import VIEW_REJECT

from .form import TEXT_ACTION, check_in_ack, form_modal, submitted

__all__ = ["REASON_ACTION", "register", "reject_modal", "reject_submit_ack", "reject_submit_run"]

REASON_ACTION = TEXT_ACTION
_REQUIRED = "A rejection needs a reason."


def reject_modal(version: int, channel: str | None) -> dict[str, Any]:
    return form_modal(
        VIEW_REJECT,
        version,
        channel,
        verb="Reject",
        intro=f"Rejecting *v{version}* stops it from being deployed. Say why, for the audit log.",
        label="Reason",
        required=True,
    )


def reject_submit_ack(ack: Ack, body: dict[str, Any]) -> None:
    check_in_ack(ack, body, required=_REQUIRED)


def reject_submit_run(
    body: dict[str, Any], context: BoltContext, client: WebClient, request: BoltRequest
) -> None:
    submitted("reject", ReleaseService.reject, body, context, client, request, required=_REQUIRED)


def register(app: App) -> None:
    app.view(VIEW_REJECT)(ack=reject_submit_ack, lazy=[reject_submit_run])
