"""Runs what a command or button asked for and turns the outcome into a reply.

Shared by the ``/mlops`` listener and the buttons so that a click and the matching
command behave identically (same core call, same refusal texts).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from slack_bolt import BoltRequest

from bot.core.evidence import gather_evidence
from bot.core.models import Action, Actor, AuditFilter, Result
from bot.core.service import PromotePlan, RollbackPlan
from bot.services import Services
from bot.slack_text import escape
from handlers.middleware.edge import replay_key
from handlers.render.audit import render_audit
from handlers.render.common import context, result_text, section, to_dicts
from handlers.render.confirmations import render_promote_confirmation, render_rollback_confirmation
from handlers.render.drift import baseline_summary, render_drift, render_drift_unavailable
from handlers.render.model_card import CARD_AUDIT_LIMIT, card_document, render_model_card
from handlers.render.release_card import CardState, render_card
from handlers.render.status import render_environment, render_history, render_status
from ml.drift.environment import DriftUnavailable, check_environment
from ml.platform import PlatformError
from ml.rollout_state import WarmStandby

from .parse import (
    Acknowledge,
    Approve,
    Audit,
    Card,
    Command,
    Deploy,
    Drift,
    Freeze,
    Help,
    History,
    Promote,
    Reject,
    RequestApproval,
    Rollback,
    RolloutControl,
    Status,
    Stop,
    Train,
    Unfreeze,
    Validate,
)

log = logging.getLogger(__name__)

__all__ = [
    "NS_ONCE",
    "Reply",
    "card_state",
    "execute",
    "once",
    "reply_for",
    "safely",
    "text_reply",
    "unchanged",
]

#: Store namespace of lazy work already started (Lambda's async retries may deliver twice).
NS_ONCE = "slack-once"
ONCE_TTL_SECONDS = 24 * 3600
#: Slack's signature is accepted for 5 minutes either side of its timestamp: a replayed request is
#: refused by the signature check once its key expires.
REPLAY_TTL_SECONDS = 15 * 60


@dataclass(frozen=True)
class Reply:
    """An ephemeral answer to the person who asked."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    result: Result | None = None


def once(services: Services, request: BoltRequest) -> bool:
    """True the first time this request's work runs; False for a replay or redelivery of it.

    A signed request is known by its timestamp and signature, whether or not it carries a
    ``trigger_id``; the claim is in the store, so it holds across restarts and replicas.
    """
    first = True
    signed = replay_key(request.headers)
    if signed is not None:
        first = services.store.put_if_absent(
            NS_ONCE, f"sig:{signed}", {"seen": True}, ttl_seconds=REPLAY_TTL_SECONDS
        )
    token = request.body.get("trigger_id")
    if isinstance(token, str) and token:
        first = (
            services.store.put_if_absent(NS_ONCE, token[:200], {"seen": True}, ttl_seconds=ONCE_TTL_SECONDS)
            and first
        )
    return first


def reply_for(result: Result) -> Reply:
    return Reply(result_text(result), to_dicts([section(result_text(result))]), result)


def text_reply(text: str) -> Reply:
    return Reply(text, to_dicts([section(text)]))


def unchanged(reason: str) -> Reply:
    """Why an asked change cannot happen (outside text, escaped here), and that nothing changed."""
    return text_reply(f":information_source: {escape(reason)} Nothing changed.")


def card_state(services: Services, version: int) -> CardState:
    release = services.release
    view = release.view(version)
    deployments = [
        rec for env in ("staging", "production") for rec in release.history(env) if rec.version == version
    ]
    deployments.sort(key=lambda rec: rec.at)
    rollback_to = None
    warm = None
    if "production" in view.environments:
        plan = release.rollback_plan("production")
        if isinstance(plan, RollbackPlan):
            rollback_to = plan.to_version
        warm = _warm_standby(services)
    names = {env: services.platform.endpoint_name(env) for env in view.environments}
    window = release.approval_window(version)
    closed = window is not None and window.expired(release.clock.now())
    pending_stage = release.life_cycle_pending(version)
    evidence = gather_evidence(services.platform, view, services.settings.promotion_rules)
    return CardState(
        view, deployments, rollback_to, names, window, closed, pending_stage, evidence=evidence, warm=warm
    )


def _warm_standby(services: Services) -> WarmStandby | None:
    """Production's warm standby; None when there is none or the platform cannot say now."""
    try:
        return services.platform.warm_standby("production")
    except PlatformError as exc:
        log.warning("warm standby of production not readable: %s", exc)
        return None


def model_card(services: Services, version: int) -> dict[str, Any]:
    """The model card export of ``version`` (``handlers.render.model_card``); NotFound if unknown."""
    audit = services.release.audit(CARD_AUDIT_LIMIT, AuditFilter(version=version))
    return card_document(card_state(services, version), audit)


def execute(services: Services, actor: Actor, command: Command) -> Reply:
    """Run a parsed command (not help: that is answered in the ack)."""
    release = services.release
    match command:
        case Train(parameters=params):
            result = release.train(actor, params)
            reply = reply_for(result)
            if result.ok:
                return Reply(reply.text + " Progress is shown in the run message.", reply.blocks, result)
            return reply
        case Stop(execution_id=execution_id):
            return reply_for(release.stop(actor, execution_id))
        case Status(version=None, environment=None):
            return Reply(*render_status(release.status()))
        case Status(version=int() as version):
            text, blocks = render_card(card_state(services, version), with_buttons=False)
            return Reply(text, [*blocks, *to_dicts([context(_baseline_line(services, version))])])
        case Status(environment=str() as env):
            info = release.endpoint(env)
            return Reply(*render_environment(info, release.history(env)))
        case Approve(version=version, reason=reason):
            return reply_for(release.approve(actor, version, reason))
        case Reject(version=version, reason=reason):
            return reply_for(release.reject(actor, version, reason))
        case RequestApproval(version=version):
            return reply_for(release.request_approval(actor, version))
        case Deploy(version=version, environment=env):
            return reply_for(release.deploy(actor, version, env))
        case Validate(version=version):
            return reply_for(release.validate(actor, version))
        case Promote(version=version, break_glass=break_glass, rollout=rollout):
            # a change to production: asked first, as the buttons and the rollback command do
            promote_plan = release.promote_plan(version, actor, break_glass, rollout)
            if not isinstance(promote_plan, PromotePlan):
                return unchanged(promote_plan)
            return Reply(*render_promote_confirmation(promote_plan))
        case Rollback(environment=env, version=version):
            plan = release.rollback_plan(env, version)
            if isinstance(plan, str):
                return unchanged(plan)
            return Reply(*render_rollback_confirmation(plan))
        case RolloutControl(environment=env, action=Action.STOP_ROLLOUT):
            return reply_for(release.stop_rollout(actor, env))
        case RolloutControl(environment=env):
            return reply_for(release.finish_rollout(actor, env))
        case History(environment=env):
            return Reply(*render_history(env, release.history(env)))
        case Acknowledge(environment=env, duration=duration):
            return reply_for(release.acknowledge_drift(actor, env, duration))
        case Drift(environment=env, since=since):
            try:
                found = check_environment(services.platform, env, since, datetime.now(UTC))
            except DriftUnavailable as exc:
                return Reply(*render_drift_unavailable(str(exc)))
            return Reply(*render_drift(found))
        case Freeze(environment=env, duration=duration, reason=reason):
            return reply_for(release.freeze(actor, env, duration, reason))
        case Unfreeze(environment=env):
            return reply_for(release.unfreeze(actor, env))
        case Audit(limit=limit, where=where):
            return Reply(*render_audit(release.audit(limit, where), where))
        case Card(version=version):
            return Reply(*render_model_card(model_card(services, version)))
        case Help():
            return Reply("Use `/mlops help`.")
    raise AssertionError(f"unhandled command {command!r}")


def safely(what: str, work: Callable[[], Reply]) -> Reply:
    """Run ``work``; an unexpected failure becomes a reply (and a log entry), never silence."""
    try:
        return work()
    except PlatformError as exc:
        log.warning("%s failed: %s", what, exc)
        text = f":x: {escape(str(exc))}"
    except Exception:
        log.exception("%s failed", what)
        text = f":x: Something went wrong while running {escape(what)}; the error was logged."
    return text_reply(text)


def _baseline_line(services: Services, version: int) -> str:
    """What the version's drift baseline holds, or why there is none to show."""
    try:
        return baseline_summary(services.platform.baseline(version))
    except (PlatformError, ValueError) as exc:
        return f":warning: Drift baseline not readable: {escape(str(exc))}"
