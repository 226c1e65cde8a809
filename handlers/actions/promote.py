"""The Promote button of a release card: promotes the validated version it carries to production."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest, Respond

from bot.core.service import ReleaseService
from handlers.ids import ACTION_PROMOTE

from .button import run_switch


# Shaped like ``approve``: one module per button; what they share is ``button.run_switch``.
def promote_ack(ack: Ack) -> None:
    ack()


def promote_run(body: dict[str, Any], context: BoltContext, respond: Respond, request: BoltRequest) -> None:
    run_switch("promote", ReleaseService.promote, body, context, respond, request)


def register(app: App) -> None:
    app.action(ACTION_PROMOTE)(ack=promote_ack, lazy=[promote_run])
