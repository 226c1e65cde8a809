"""The approval modal: opened by the Approve button, submitted with an optional comment.

As in a code review, an approval may say something ("ship it", "watch recall") and a rejection
must; the comment goes into the audit log and onto the release card.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest
from slack_sdk import WebClient

from bot.core.service import ReleaseService
from handlers.ids import VIEW_APPROVE

from .form import check_in_ack, form_modal, submitted

__all__ = ["approve_modal", "approve_submit_ack", "approve_submit_run", "register"]


def approve_modal(version: int, channel: str | None) -> dict[str, Any]:
    return form_modal(
        VIEW_APPROVE,
        version,
        channel,
        verb="Approve",
        intro=(
            f"Approving *v{version}* deploys it to staging and validates it there; "
            "promoting it to production is a separate step."
        ),
        label="Comment (optional)",
        required=False,
    )


def approve_submit_ack(ack: Ack, body: dict[str, Any]) -> None:
    check_in_ack(ack, body, required=None)


def approve_submit_run(
    body: dict[str, Any], context: BoltContext, client: WebClient, request: BoltRequest
) -> None:
    submitted("approve", ReleaseService.approve, body, context, client, request, required=None)


def register(app: App) -> None:
    app.view(VIEW_APPROVE)(ack=approve_submit_ack, lazy=[approve_submit_run])
