"""Buttons on release cards and on rollback confirmations.

Every button value is treated as untrusted input: it only names a version (or a
rollback plan), and the permission middleware plus the release core decide again
at click time whether anything happens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltRequest
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.core.models import Actor, Result
from bot.core.service import RollbackPlan
from bot.services import Services
from bot.slack_text import escape
from handlers.commands.ops import Reply, actor_of, once, reply_for, safely
from handlers.ids import (
    ACTION_APPROVE,
    ACTION_PROMOTE,
    ACTION_REJECT,
    ACTION_ROLLBACK,
    ACTION_ROLLBACK_CANCEL,
    ACTION_ROLLBACK_CONFIRM,
)
from handlers.render.common import code, decode_value, positive_int, section, to_dicts
from handlers.render.status import render_rollback_confirmation
from handlers.views.reject import reject_modal

log = logging.getLogger(__name__)

__all__ = ["STALE", "register"]

STALE = (
    ":warning: This button is out of date or malformed; nothing changed. "
    "Use `/mlops status` for the current state."
)


def _first_action(body: dict[str, Any]) -> dict[str, Any]:
    actions = body.get("actions") or [{}]
    first = actions[0]
    return first if isinstance(first, dict) else {}


def _version(body: dict[str, Any]) -> int | None:
    data = decode_value(_first_action(body).get("value"))
    return positive_int(data.get("v")) if data else None


def _text(text: str) -> Reply:
    return Reply(text, to_dicts([section(text)]))


def _tell(respond: Any, reply: Reply, *, replace: bool = False) -> None:
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


def register(app: App, services: Services) -> None:
    release = services.release

    def ack_only(ack: Any) -> None:
        ack()

    def switch_run(verb: str, act: Callable[[Actor, int], Result]) -> Callable[..., None]:
        """The lazy half of a button that acts on the version it carries (approve, promote)."""

        def run(body: dict[str, Any], context: Any, respond: Any, request: BoltRequest) -> None:
            version = _version(body)
            if version is None:
                _tell(respond, _text(STALE))
                return
            if not once(services, request):
                return
            actor = actor_of(context)
            _tell(respond, safely(f"{verb} v{version}", lambda: reply_for(act(actor, version))))

        # Bolt finds a lazy listener again (Lambda re-invokes) by its function's name: keep them apart.
        run.__name__ = f"{verb}_run"
        return run

    approve_run = switch_run("approve", release.approve)
    promote_run = switch_run("promote", release.promote)

    def reject_open(ack: Any, body: dict[str, Any], client: Any, respond: Any) -> None:
        ack()
        version = _version(body)
        if version is None:
            _tell(respond, _text(STALE))
            return
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        try:
            client.views_open(trigger_id=body.get("trigger_id"), view=reject_modal(version, channel))
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("could not open the reject modal: %s", exc)
            usage = code(f"/mlops reject v{version} <reason>")
            _tell(respond, _text(f":warning: Could not open the form; use {usage}."))

    def rollback_ask(body: dict[str, Any], respond: Any) -> None:
        version = _version(body)
        if version is None:
            _tell(respond, _text(STALE))
            return

        def plan() -> Reply:
            current = release.serving("production")
            if current != version:
                now = f"v{current}" if current is not None else "no model"
                return _text(
                    f":information_source: Production serves {now}, not v{version}; "
                    "this card was out of date. Nothing changed."
                )
            found = release.rollback_plan("production")
            if isinstance(found, str):
                return _text(f":information_source: {escape(found)} Nothing changed.")
            return Reply(*render_rollback_confirmation(found))

        _tell(respond, safely("rollback", plan))

    def rollback_confirm_run(body: dict[str, Any], context: Any, respond: Any, request: BoltRequest) -> None:
        data = decode_value(_first_action(body).get("value")) or {}
        env = data.get("env")
        source, target = positive_int(data.get("from")), positive_int(data.get("to"))
        if env not in ("staging", "production") or source is None or target is None:
            _tell(respond, _text(STALE), replace=True)
            return
        if not once(services, request):
            return
        actor = actor_of(context)

        def run() -> Reply:
            current = release.serving(env)
            if current != source:
                now = f"v{current}" if current is not None else "no model"
                return _text(
                    f":information_source: {env} now serves {now}, not v{source} as when you were asked; "
                    f"nothing changed. Run `/mlops rollback {env}` again."
                )
            plan = release.rollback_plan(env, target)
            if not isinstance(plan, RollbackPlan):
                return _text(f":information_source: {escape(plan)} Nothing changed.")
            return reply_for(release.rollback(actor, env, target))

        _tell(respond, safely(f"rollback {env}", run), replace=True)

    def rollback_cancel_run(respond: Any) -> None:
        _tell(respond, _text("Rollback cancelled; nothing changed."), replace=True)

    app.action(ACTION_APPROVE)(ack=ack_only, lazy=[approve_run])
    app.action(ACTION_PROMOTE)(ack=ack_only, lazy=[promote_run])
    app.action(ACTION_REJECT)(reject_open)
    app.action(ACTION_ROLLBACK)(ack=ack_only, lazy=[rollback_ask])
    app.action(ACTION_ROLLBACK_CONFIRM)(ack=ack_only, lazy=[rollback_confirm_run])
    app.action(ACTION_ROLLBACK_CANCEL)(ack=ack_only, lazy=[rollback_cancel_run])
