"""The drift card's Acknowledge and Retrain buttons (its Roll back is the release cards' ``rollback``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest, Respond

from handlers.commands.ops import Reply, once, reply_for, safely
from handlers.context import actor_of, services_of
from handlers.ids import ACTION_DRIFT_ACKNOWLEDGE, ACTION_DRIFT_RETRAIN
from ml.platform import ENVIRONMENTS

from .button import STALE, tell, text_reply, value_of

#: how long the card's Acknowledge mutes the alert (``/mlops acknowledge ENV 1d`` sets another time)
ACKNOWLEDGE_FOR = timedelta(hours=4)


def drift_ack(ack: Ack) -> None:
    ack()


def acknowledge_run(
    body: dict[str, Any], context: BoltContext, respond: Respond, request: BoltRequest
) -> None:
    env = value_of(body).get("env")
    if env not in ENVIRONMENTS:
        tell(respond, text_reply(STALE))
        return
    services = services_of(context)
    if not once(services, request):
        return
    actor, release = actor_of(context), services.release
    tell(
        respond,
        safely("acknowledge", lambda: reply_for(release.acknowledge_drift(actor, env, ACKNOWLEDGE_FOR))),
    )


def retrain_run(body: dict[str, Any], context: BoltContext, respond: Respond, request: BoltRequest) -> None:
    """A training run with the pipeline's defaults: its data is the data set the deployment names."""
    services = services_of(context)
    if not once(services, request):
        return
    actor, release = actor_of(context), services.release

    def train() -> Reply:
        result = release.train(actor, {})
        reply = reply_for(result)
        if result.ok:
            return Reply(reply.text + " Progress is shown in the run message.", reply.blocks, result)
        return reply

    tell(respond, safely("retrain", train))


def register(app: App) -> None:
    app.action(ACTION_DRIFT_ACKNOWLEDGE)(ack=drift_ack, lazy=[acknowledge_run])
    app.action(ACTION_DRIFT_RETRAIN)(ack=drift_ack, lazy=[retrain_run])
