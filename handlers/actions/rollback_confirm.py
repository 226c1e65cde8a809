"""The Confirm button of a rollback confirmation: rolls back, if the environment is as when asked."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest, Respond

from bot.core.models import Actor
from bot.core.service import RollbackPlan
from bot.services import Services
from handlers.commands.ops import Reply, reply_for, unchanged
from handlers.ids import ACTION_ROLLBACK_CONFIRM
from handlers.render.common import positive_int

from .button import STALE, moved_on, run_confirmed, tell, text_reply, value_of


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

    def act(services: Services, actor: Actor) -> Reply:
        release = services.release
        changed = moved_on(env, release.serving(env), source, f"/mlops rollback {env}")
        if changed is not None:
            return changed
        plan = release.rollback_plan(env, target)
        if not isinstance(plan, RollbackPlan):
            return unchanged(plan)
        return reply_for(release.rollback(actor, env, target))

    run_confirmed(f"rollback {env}", act, context, respond, request)


def register(app: App) -> None:
    app.action(ACTION_ROLLBACK_CONFIRM)(ack=rollback_confirm_ack, lazy=[rollback_confirm_run])
