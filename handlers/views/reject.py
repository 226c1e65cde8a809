"""The reject-reason modal: opened by the Reject button, submitted with the reason."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.models.blocks import InputBlock, PlainTextInputElement, PlainTextObject
from slack_sdk.models.views import View

from handlers.commands.ops import once, reply_for, safely
from handlers.commands.parse import MAX_REASON
from handlers.context import actor_of, services_of
from handlers.ids import REJECT_REASON_BLOCK, VIEW_REJECT
from handlers.render.common import decode_value, positive_int, section

log = logging.getLogger(__name__)

__all__ = ["REASON_ACTION", "register", "reject_modal", "reject_submit_ack", "reject_submit_run"]

REASON_ACTION = "reason"


def reject_modal(version: int, channel: str | None) -> dict[str, Any]:
    metadata = json.dumps({"v": version, "channel": channel or ""}, separators=(",", ":"))
    view = View(
        type="modal",
        callback_id=VIEW_REJECT,
        title=PlainTextObject(text=f"Reject v{version}"),
        submit=PlainTextObject(text="Reject"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=metadata,
        blocks=[
            section(f"Rejecting *v{version}* stops it from being deployed. Say why, for the audit log."),
            InputBlock(
                block_id=REJECT_REASON_BLOCK,
                label=PlainTextObject(text="Reason"),
                element=PlainTextInputElement(action_id=REASON_ACTION, multiline=True, max_length=MAX_REASON),
            ),
        ],
    )
    result: dict[str, Any] = view.to_dict()
    return result


def _obj(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one: submissions are untrusted input."""
    return value if isinstance(value, dict) else {}


def _submission(body: dict[str, Any]) -> tuple[int | None, str, str]:
    view = _obj(body.get("view"))
    meta = decode_value(view.get("private_metadata")) or {}
    version = positive_int(meta.get("v"))
    channel = meta.get("channel") if isinstance(meta.get("channel"), str) else ""
    values = _obj(_obj(_obj(view.get("state")).get("values")).get(REJECT_REASON_BLOCK))
    raw = _obj(values.get(REASON_ACTION)).get("value")
    reason = raw.strip() if isinstance(raw, str) else ""
    return version, reason, str(channel)


def reject_submit_ack(ack: Ack, body: dict[str, Any]) -> None:
    """Checks the reason in the ack, so that the modal shows what is wrong and stays open."""
    version, reason, _ = _submission(body)
    if version is None:
        ack(response_action="errors", errors={REJECT_REASON_BLOCK: "This form is out of date; reopen it."})
    elif not reason:
        ack(response_action="errors", errors={REJECT_REASON_BLOCK: "A rejection needs a reason."})
    elif len(reason) > MAX_REASON:
        ack(response_action="errors", errors={REJECT_REASON_BLOCK: f"At most {MAX_REASON} characters."})
    else:
        ack()


def reject_submit_run(
    body: dict[str, Any], context: BoltContext, client: WebClient, request: BoltRequest
) -> None:
    """Rejects the version, then tells the person who submitted, in the channel the card was in."""
    version, reason, channel = _submission(body)
    services = services_of(context)
    if version is None or not reason or len(reason) > MAX_REASON or not once(services, request):
        return
    actor = actor_of(context)
    reply = safely(f"reject v{version}", lambda: reply_for(services.release.reject(actor, version, reason)))
    if not channel:
        return
    try:
        client.chat_postEphemeral(channel=channel, user=actor.id, text=reply.text, blocks=reply.blocks)
    except (SlackApiError, SlackClientError, OSError) as exc:
        log.warning("could not confirm the rejection of v%s to %s: %s", version, actor.id, exc)


def register(app: App) -> None:
    app.view(VIEW_REJECT)(ack=reject_submit_ack, lazy=[reject_submit_run])
