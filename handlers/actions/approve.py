"""The Approve button of a release card: approves the version it carries (then staging deploys it)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest, Respond

from bot.core.service import ReleaseService
from handlers.ids import ACTION_APPROVE

from .button import run_switch


def approve_ack(ack: Ack) -> None:
    ack()


def approve_run(body: dict[str, Any], context: BoltContext, respond: Respond, request: BoltRequest) -> None:
    run_switch("approve", ReleaseService.approve, body, context, respond, request)


def register(app: App) -> None:
    app.action(ACTION_APPROVE)(ack=approve_ack, lazy=[approve_run])
