"""What every button listener shares: reading the value it carries, and answering the clicker.

Every button value is treated as untrusted input: it only names a version (or a rollback plan), and
the permission middleware plus the release core decide again at click time whether anything happens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext, BoltRequest, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.core.models import Actor, Result
from bot.core.service import ReleaseService
from bot.services import Services
from handlers.commands.ops import Reply, once, reply_for, safely, text_reply
from handlers.context import actor_of, services_of
from handlers.render.common import code, decode_value, positive_int

log = logging.getLogger(__name__)

__all__ = [
    "STALE",
    "ask_about",
    "moved_on",
    "open_form",
    "run_confirmed",
    "run_switch",
    "tell",
    "text_reply",
    "value_of",
    "version_of",
]

STALE = (
    ":warning: This button is out of date or malformed; nothing changed. "
    "Use `/mlops status` for the current state."
)


def value_of(body: dict[str, Any]) -> dict[str, Any]:
    """The JSON object the clicked button carried; empty if stale, forged or mangled."""
    actions = body.get("actions") or [{}]
    first = actions[0] if isinstance(actions[0], dict) else {}
    return decode_value(first.get("value")) or {}


def version_of(body: dict[str, Any]) -> int | None:
    return positive_int(value_of(body).get("v"))


def tell(respond: Respond, reply: Reply, *, replace: bool = False) -> None:
    """Answer the clicker only (ephemeral); a failure to answer is logged, never raised."""
    try:
        respond(
            text=reply.text,
            blocks=reply.blocks,
            response_type="ephemeral",
            replace_original=replace,
            delete_original=False,
        )
    except (SlackApiError, SlackClientError, OSError, ValueError) as exc:  # ValueError: no response_url
        log.warning("could not answer a button click: %s", exc)


def run_switch(
    verb: str,
    act: Callable[[ReleaseService, Actor, int], Result],
    body: dict[str, Any],
    context: BoltContext,
    respond: Respond,
    request: BoltRequest,
) -> None:
    """The lazy half of a button that acts on the version it carries (approve)."""
    version = version_of(body)
    if version is None:
        tell(respond, text_reply(STALE))
        return
    services = services_of(context)
    if not once(services, request):
        return
    actor = actor_of(context)
    tell(respond, safely(f"{verb} v{version}", lambda: reply_for(act(services.release, actor, version))))


def open_form(
    form: Callable[[int, str | None], dict[str, Any]],
    typed: str,
    body: dict[str, Any],
    client: WebClient,
    respond: Respond,
) -> None:
    """Open ``form(version, channel)`` for the clicked card, or say which command does the same.

    Called right after the ack: a ``trigger_id`` is valid for 3 seconds only. ``typed`` is the
    command with ``{v}`` for the version.
    """
    version = version_of(body)
    if version is None:
        tell(respond, text_reply(STALE))
        return
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    try:
        client.views_open(trigger_id=body.get("trigger_id"), view=form(version, channel))
    except (SlackApiError, SlackClientError, OSError) as exc:
        log.warning("could not open a form for v%s: %s", version, exc)
        usage = code(typed.format(v=version))
        tell(respond, text_reply(f":warning: Could not open the form; use {usage}."))


def ask_about(
    what: str,
    question: Callable[[ReleaseService, int], Reply],
    body: dict[str, Any],
    context: BoltContext,
    respond: Respond,
) -> None:
    """The lazy half of a button that asks before it changes production (Promote, Roll back)."""
    version = version_of(body)
    if version is None:
        tell(respond, text_reply(STALE))
        return
    release = services_of(context).release
    tell(respond, safely(f"{what} v{version}", lambda: question(release, version)))


def moved_on(env: str, current: int | None, shown: int | None, retry: str) -> Reply | None:
    """The answer to a Confirm clicked after ``env`` changed; None while it serves what was shown."""
    if current == shown:
        return None
    now = f"v{current}" if current is not None else "no model"
    was = f"v{shown}" if shown is not None else "no model"
    return text_reply(
        f":information_source: {env} now serves {now}, not {was} as when you were asked; "
        f"nothing changed. Run `{retry}` again."
    )


def run_confirmed(
    what: str,
    act: Callable[[Services, Actor], Reply],
    context: BoltContext,
    respond: Respond,
    request: BoltRequest,
) -> None:
    """The lazy half of a confirmation's Confirm button: once per click, answered in place."""
    services = services_of(context)
    if not once(services, request):
        return
    actor = actor_of(context)
    tell(respond, safely(what, lambda: act(services, actor)), replace=True)
