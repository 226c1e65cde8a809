"""The Rollback button of a release card: asks for confirmation of the rollback plan it would run."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.core.service import ReleaseService
from handlers.commands.ops import Reply, text_reply, unchanged
from handlers.ids import ACTION_ROLLBACK
from handlers.render.confirmations import render_rollback_confirmation

from .button import ask_about


def rollback_ack(ack: Ack) -> None:
    ack()


def _question(release: ReleaseService, version: int) -> Reply:
    current = release.serving("production")
    if current != version:
        now = f"v{current}" if current is not None else "no model"
        return text_reply(
            f":information_source: Production serves {now}, not v{version}; "
            "this card was out of date. Nothing changed."
        )
    found = release.rollback_plan("production")
    if isinstance(found, str):
        return unchanged(found)
    return Reply(*render_rollback_confirmation(found))


def rollback_ask(body: dict[str, Any], context: BoltContext, respond: Respond) -> None:
    """The confirmation, if production still serves the version the card showed."""
    ask_about("rollback", _question, body, context, respond)


def register(app: App) -> None:
    app.action(ACTION_ROLLBACK)(ack=rollback_ack, lazy=[rollback_ask])
