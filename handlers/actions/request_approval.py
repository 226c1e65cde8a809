"""The Request again button of a card whose approval expired: a trainer restarts the approval window."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest, Respond

from bot.core.service import ReleaseService
from handlers.ids import ACTION_REQUEST_APPROVAL

from .button import run_switch


def request_ack(ack: Ack) -> None:
    ack()


def request_run(body: dict[str, Any], context: BoltContext, respond: Respond, request: BoltRequest) -> None:
    run_switch("request approval of", ReleaseService.request_approval, body, context, respond, request)


def register(app: App) -> None:
    app.action(ACTION_REQUEST_APPROVAL)(ack=request_ack, lazy=[request_run])
