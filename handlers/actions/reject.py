"""The Reject button of a release card: opens the reason modal (``views.reject`` handles its submission)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from handlers.ids import ACTION_REJECT
from handlers.render.common import code
from handlers.views.reject import reject_modal

from .button import STALE, tell, text_reply, version_of

log = logging.getLogger(__name__)


def reject_open(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
    """Acks, then opens the modal at once: its ``trigger_id`` is valid for 3 seconds only."""
    ack()
    version = version_of(body)
    if version is None:
        tell(respond, text_reply(STALE))
        return
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    try:
        client.views_open(trigger_id=body.get("trigger_id"), view=reject_modal(version, channel))
    except (SlackApiError, SlackClientError, OSError) as exc:
        log.warning("could not open the reject modal: %s", exc)
        usage = code(f"/mlops reject v{version} <reason>")
        tell(respond, text_reply(f":warning: Could not open the form; use {usage}."))


def register(app: App) -> None:
    app.action(ACTION_REJECT)(reject_open)
