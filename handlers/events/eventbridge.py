"""``POST /events/eventbridge`` and direct Lambda invocations: typed EventBridge events to Slack.

Each event is parsed once where it arrives (``bot.ingest.models.parse``), filtered to this bot's
resources, claimed once by its id, and then handled on its model: alarms and failed deployments
here, everything else by the release notifications.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from bot.ingest import dedupe
from bot.ingest.eventbridge import EventFilter
from bot.ingest.models import (
    AlarmStateChange,
    EndpointDeploymentStateChange,
    EventBridgeEvent,
    EventError,
    parse,
    parse_batch,
)
from bot.notify import Notifier
from bot.services import Services
from handlers.notifications import handle_platform_event, notifications_for

from . import render
from .common import answer, bearer_refusal, body_or_refusal, production_version

log = logging.getLogger(__name__)

PlatformHandler = Callable[[Services, Notifier, EventBridgeEvent], None]

NS_ALARM = "alarm_alert"
STATE_TTL_SECONDS = 30 * 24 * 3600


def dispatch_eventbridge(
    services: Services,
    notifier: Notifier,
    raw: Mapping[str, Any],
    *,
    platform_handler: PlatformHandler | None = None,
) -> str:
    """Parse and act on one raw event (a direct Lambda invocation); returns what happened.

    Never raises for a bad event (a retry could not fix it): it logs and returns ``malformed``.
    """
    try:
        event = parse(raw)
    except EventError as exc:
        log.warning("malformed EventBridge event: %s", exc)
        return "malformed"
    return act_on_event(services, notifier, event, platform_handler=platform_handler)


def act_on_event(
    services: Services,
    notifier: Notifier,
    event: EventBridgeEvent,
    *,
    platform_handler: PlatformHandler | None = None,
) -> str:
    """Act on one parsed event, once per event id; returns what happened.

    Raises if acting failed, after withdrawing the claim, so the sender's retry acts.
    """
    if not event.known:
        log.debug("ignoring %s event %r", event.source, event.detail_type)
        return "ignored"
    rules = EventFilter.from_settings(services.settings)
    if not rules.relevant(event):
        log.debug("event %s is about another resource", event.id)
        return "filtered"
    with dedupe.claim(services.store, f"eb:{event.id}", dedupe.EVENTBRIDGE_TTL_SECONDS) as first:
        if not first:
            return "duplicate"
        if isinstance(event, AlarmStateChange):
            return _alarm(services, notifier, event)
        if isinstance(event, EndpointDeploymentStateChange) and event.detail.failed:
            return _deployment_failure(services, notifier, event, rules)
        (platform_handler or handle_platform_event)(services, notifier, event)
        return "delegated"


def _deployment_failure(
    services: Services, notifier: Notifier, event: EndpointDeploymentStateChange, rules: EventFilter
) -> str:
    change = event.detail
    environment = rules.environment_of(change.endpoint_name) or "production"
    # the live message of the rollout there says how it ended (a repeat re-renders nothing new)
    notifications_for(services, notifier).rollouts.refresh(environment)
    # SageMaker may send the same failure several times, each with its own id.
    moment = change.modified_at.isoformat() if change.modified_at else ""
    same = dedupe.digest(change.endpoint_name, moment, change.failure_reason or change.raw_status)
    key = f"deploy-failure:{change.endpoint_name}:{same[:16]}"
    with dedupe.claim(services.store, f"eb-{key}") as new:
        if not new:
            return "duplicate"
        msg = render.deployment_failure(change, environment, production_version(services))
        notifier.upsert(key, msg.text, msg.blocks)
    return "deployment_failure"


def _alarm(services: Services, notifier: Notifier, alarm: AlarmStateChange) -> str:
    store = services.store
    if alarm.firing:
        at = (alarm.at or datetime.now(UTC)).isoformat()
        key = f"alarm:{alarm.alarm_name}:{at}"
        # CloudWatch may report one state change in several events, each with its own id.
        with dedupe.claim(store, f"eb-{key}") as new:
            if not new:
                return "duplicate"
            msg = render.alarm_alert(alarm, production_version(services))
            notifier.upsert(key, msg.text, msg.blocks)
            store.put(NS_ALARM, alarm.alarm_name, {"key": key}, ttl_seconds=STATE_TTL_SECONDS)
        return "alarm"
    if alarm.previous_state == "ALARM":
        current = store.get(NS_ALARM, alarm.alarm_name)
        if current is None:
            return "alarm_cleared"
        msg = render.alarm_resolved(alarm)
        notifier.reply(str(current["key"]), msg.text, msg.blocks)
        store.delete(NS_ALARM, alarm.alarm_name)
        return "alarm_resolved"
    return "alarm_ignored"


def eventbridge_endpoint(
    services: Services, notifier: Notifier, platform_handler: PlatformHandler | None = None
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        token = services.settings.events_token
        refusal = bearer_refusal(request, token.get_secret_value() if token else None, "EVENTS_TOKEN")
        if refusal is not None:
            return refusal
        body = await body_or_refusal(request, services)
        if isinstance(body, Response):
            return body
        try:
            events = parse_batch(body)
        except EventError as exc:
            return answer(400, error=str(exc))

        def work() -> list[str]:
            return [act_on_event(services, notifier, e, platform_handler=platform_handler) for e in events]

        try:
            outcomes = await run_in_threadpool(work)
        except Exception:
            log.exception("EventBridge delivery failed; the sender will retry")
            return answer(500, error="processing failed; retry")
        return answer(200, results=outcomes)

    return endpoint
