"""The Confirm button of a rollback confirmation: rolls back, if the environment is as when asked."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest, Respond

from bot.core.service import RollbackPlan
from bot.slack_text import escape
from handlers.commands.ops import Reply, once, reply_for, safely
from handlers.context import actor_of, services_of
from handlers.ids import ACTION_ROLLBACK_CONFIRM
from handlers.render.common import positive_int

from .button import STALE, tell, text_reply, value_of


def rollback_confirm_ack(ack: Ack) -> None:
    ack()


def rollback_confirm_run(
    body: dict[str, Any], context: BoltContext, respond: Respond, request: BoltRequest
) -> None:
    data = value_of(body)
    env = data.get("env")
    source, target = positive_int(data.get("from")), positive_int(data.get("to"))
    if env not in ("staging", "production") or source is None or target is None:
        tell(respond, text_reply(STALE), replace=True)
        return
    services = services_of(context)
    if not once(services, request):
        return
    actor = actor_of(context)
    release = services.release

    def run() -> Reply:
        current = release.serving(env)
        if current != source:
            now = f"v{current}" if current is not None else "no model"
            return text_reply(
                f":information_source: {env} now serves {now}, not v{source} as when you were asked; "
                f"nothing changed. Run `/mlops rollback {env}` again."
            )
        plan = release.rollback_plan(env, target)
        if not isinstance(plan, RollbackPlan):
            return text_reply(f":information_source: {escape(plan)} Nothing changed.")
        return reply_for(release.rollback(actor, env, target))

    tell(respond, safely(f"rollback {env}", run), replace=True)


def register(app: App) -> None:
    app.action(ACTION_ROLLBACK_CONFIRM)(ack=rollback_confirm_ack, lazy=[rollback_confirm_run])
