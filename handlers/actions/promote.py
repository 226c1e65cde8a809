"""The Promote button of a release card: asks for confirmation of the promote it would run.

Clicked or typed (``/mlops promote vN``), a promote asks the same question, naming the
endpoint and the versions from and to; the Confirm button (``promote_confirm``) acts.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.core.service import PromotePlan, ReleaseService
from handlers.commands.ops import Reply, unchanged
from handlers.ids import ACTION_PROMOTE
from handlers.render.confirmations import render_promote_confirmation

from .button import ask_about


def promote_ack(ack: Ack) -> None:
    ack()


def _question(release: ReleaseService, version: int) -> Reply:
    found = release.promote_plan(version)
    if not isinstance(found, PromotePlan):
        return unchanged(found)
    return Reply(*render_promote_confirmation(found))


def promote_ask(body: dict[str, Any], context: BoltContext, respond: Respond) -> None:
    """The confirmation, or why the version the card showed cannot be promoted now."""
    ask_about("promote", _question, body, context, respond)


def register(app: App) -> None:
    app.action(ACTION_PROMOTE)(ack=promote_ack, lazy=[promote_ask])
