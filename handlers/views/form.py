"""What the approve and reject modals share: one text field, its checks, and the answer after submission."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, BoltContext, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.models.blocks import InputBlock, PlainTextInputElement, PlainTextObject
from slack_sdk.models.views import View

from bot.core.models import Actor, Result
from bot.core.service import ReleaseService
from handlers.commands.ops import Reply, once, reply_for, safely
from handlers.commands.parse import MAX_REASON
from handlers.context import actor_of, services_of
from handlers.ids import REJECT_REASON_BLOCK
from handlers.render.common import decode_value, positive_int, section

log = logging.getLogger(__name__)

__all__ = ["TEXT_ACTION", "answer", "check_in_ack", "form_modal", "problem", "submission", "submitted"]

#: the action id of the one text input
TEXT_ACTION = "reason"


def form_modal(
    callback_id: str, version: int, channel: str | None, *, verb: str, intro: str, label: str, required: bool
) -> dict[str, Any]:
    """A modal about ``version`` with one text field; the channel rides along to answer in it."""
    metadata = json.dumps({"v": version, "channel": channel or ""}, separators=(",", ":"))
    view = View(
        type="modal",
        callback_id=callback_id,
        title=PlainTextObject(text=f"{verb} v{version}"),
        submit=PlainTextObject(text=verb),
        close=PlainTextObject(text="Cancel"),
        private_metadata=metadata,
        blocks=[
            section(intro),
            InputBlock(
                block_id=REJECT_REASON_BLOCK,
                label=PlainTextObject(text=label),
                element=PlainTextInputElement(action_id=TEXT_ACTION, multiline=True, max_length=MAX_REASON),
                optional=not required,
            ),
        ],
    )
    result: dict[str, Any] = view.to_dict()
    return result


def _obj(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one: submissions are untrusted input."""
    return value if isinstance(value, dict) else {}


def submission(body: dict[str, Any]) -> tuple[int | None, str, str]:
    """The version, the text typed (stripped) and the channel of a submitted form."""
    view = _obj(body.get("view"))
    meta = decode_value(view.get("private_metadata")) or {}
    version = positive_int(meta.get("v"))
    channel = meta.get("channel") if isinstance(meta.get("channel"), str) else ""
    values = _obj(_obj(_obj(view.get("state")).get("values")).get(REJECT_REASON_BLOCK))
    raw = _obj(values.get(TEXT_ACTION)).get("value")
    text = raw.strip() if isinstance(raw, str) else ""
    return version, text, str(channel)


def problem(version: int | None, text: str, *, required: str | None) -> str | None:
    """What is wrong with a submission, shown on the form (which stays open); None if nothing.

    ``required``: the message for an empty text when the text is required.
    """
    if version is None:
        return "This form is out of date; reopen it."
    if required is not None and not text:
        return required
    if len(text) > MAX_REASON:
        return f"At most {MAX_REASON} characters."
    return None


def answer(client: WebClient, channel: str, actor: Actor, reply: Reply, what: str) -> None:
    """Tell the person who submitted, in the channel the card was in (a modal has no response_url)."""
    if not channel:
        return
    try:
        client.chat_postEphemeral(channel=channel, user=actor.id, text=reply.text, blocks=reply.blocks)
    except (SlackApiError, SlackClientError, OSError) as exc:
        log.warning("could not confirm the %s to %s: %s", what, actor.id, exc)


def check_in_ack(ack: Ack, body: dict[str, Any], *, required: str | None) -> None:
    """Checks the text in the ack, so that the modal shows what is wrong and stays open."""
    version, text, _ = submission(body)
    wrong = problem(version, text, required=required)
    if wrong is not None:
        ack(response_action="errors", errors={REJECT_REASON_BLOCK: wrong})
    else:
        ack()


def submitted(
    verb: str,
    act: Callable[[ReleaseService, Actor, int, str], Result],
    body: dict[str, Any],
    context: BoltContext,
    client: WebClient,
    request: BoltRequest,
    *,
    required: str | None,
) -> None:
    """The lazy half of a submission: act once on the version with the text, then tell the submitter."""
    version, text, channel = submission(body)
    services = services_of(context)
    if version is None or problem(version, text, required=required) or not once(services, request):
        return
    actor = actor_of(context)
    release = services.release
    reply = safely(f"{verb} v{version}", lambda: reply_for(act(release, actor, version, text)))
    answer(client, channel, actor, reply, f"{verb} of v{version}")
