"""The live rollout message's buttons: **Stop and roll back** and **Finish now**.

The value names the rollout (environment and start time); a click on the message of a rollout that
has ended, or been replaced by another, changes nothing. The permission middleware checked the
clicker's role; the release core checks it again and audits the request. The live message is
re-rendered at once, so whoever watches it sees the change without waiting for the next tick.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest, Respond

from bot.core.models import Actor, Result
from bot.core.service import ReleaseService
from bot.services import Services
from handlers.commands.ops import Reply, once, reply_for, safely
from handlers.context import actor_of, services_of
from handlers.ids import ACTION_ROLLOUT_FINISH, ACTION_ROLLOUT_STOP
from handlers.notifications import notifications_for
from ml.platform import ENVIRONMENTS, Environment

from .button import STALE, tell, text_reply, value_of

Act = Callable[[ReleaseService, Actor, Environment], Result]


def rollout_ack(ack: Ack) -> None:
    ack()


def _environment(data: dict[str, Any]) -> Environment | None:
    env = data.get("env")
    return next((e for e in ENVIRONMENTS if e == env), None)


def _run(
    act: Act, what: str, body: dict[str, Any], context: BoltContext, respond: Respond, request: BoltRequest
) -> None:
    data = value_of(body)
    env, started = _environment(data), data.get("at")
    if env is None or not isinstance(started, str):
        tell(respond, text_reply(STALE))
        return
    services = services_of(context)
    if not once(services, request):
        return
    actor = actor_of(context)

    def go() -> Reply:
        progress = services.platform.rollout_progress(env)
        if progress is None or progress.started_at.isoformat() != started:
            return text_reply(
                f":information_source: This message is about a rollout on {env} that is no longer the "
                "current one; nothing changed. Use `/mlops status production` for what serves now."
            )
        return reply_for(act(services.release, actor, env))

    tell(respond, safely(f"{what} on {env}", go))
    _refresh(services, env)


def _refresh(services: Services, env: Environment) -> None:
    if services.notifier is not None:
        notifications_for(services, services.notifier).rollouts.refresh(env)


def stop_run(body: dict[str, Any], context: BoltContext, respond: Respond, request: BoltRequest) -> None:
    _run(lambda r, a, e: r.stop_rollout(a, e), "stop the rollout", body, context, respond, request)


def finish_run(body: dict[str, Any], context: BoltContext, respond: Respond, request: BoltRequest) -> None:
    _run(lambda r, a, e: r.finish_rollout(a, e), "finish the rollout", body, context, respond, request)


def register(app: App) -> None:
    app.action(ACTION_ROLLOUT_STOP)(ack=rollout_ack, lazy=[stop_run])
    app.action(ACTION_ROLLOUT_FINISH)(ack=rollout_ack, lazy=[finish_run])
