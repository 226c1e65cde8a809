"""HTTP intake of EventBridge events, GitHub webhooks and CI reports, and what each says in Slack.

Every route authenticates before it parses (401, and nothing posted, otherwise),
answers 400 with the reasons for a malformed body, and deduplicates through the
store so that a retried delivery acts once. Work that blocks (store, platform,
Slack) runs in the thread pool, never on the event loop.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.core.models import Outcome
from bot.ingest import ci, dedupe, github
from bot.ingest.eventbridge import (
    AlarmChange,
    EndpointDeploymentChange,
    EventError,
    EventFilter,
    normalise,
    parse_body,
    parse_envelope,
)
from bot.limits import BodyRefused, Limits, read_body
from bot.notify import Notifier
from bot.services import Services
from handlers.notifications import handle_platform_event
from handlers.render.run_message import run_key
from ml.platform import PlatformError

from . import render

log = logging.getLogger(__name__)

PlatformHandler = Callable[[Services, Notifier, dict[str, Any]], None]

NS_GH_STATE = "gh_state"
NS_ALARM = "alarm_alert"
STATE_TTL_SECONDS = 30 * 24 * 3600
#: Order of deployment states; success/failure/error rank 2, and a later "inactive" supersedes them.
_DEPLOY_RANK: Mapping[str, int] = {"pending": 0, "queued": 0, "waiting": 0, "in_progress": 1, "inactive": 3}


def _json(status: int, **body: Any) -> JSONResponse:
    return JSONResponse({"ok": 200 <= status < 300, **body}, status_code=status)


def _unauthorized(reason: str) -> JSONResponse:
    return JSONResponse(
        {"ok": False, "error": "unauthorized", "reason": reason},
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


async def _body(request: Request, services: Services) -> bytes | Response:
    try:
        return await read_body(request, Limits.from_settings(services.settings))
    except BodyRefused as refused:
        return refused.response(as_json=True)


def _production_version(services: Services) -> int | None:
    try:
        return services.release.serving("production")
    except PlatformError:
        log.exception("cannot tell which version production serves")
        return None


# -- EventBridge -----------------------------------------------------------------------------------


def dispatch_eventbridge(
    services: Services,
    notifier: Notifier,
    event: Mapping[str, Any],
    *,
    platform_handler: PlatformHandler | None = None,
) -> str:
    """Act on one EventBridge event (HTTP or a direct Lambda invocation); returns what happened.

    Never raises for a bad event (a retry could not fix it): it logs and returns ``malformed``.
    Raises if acting failed, after withdrawing the dedupe claim, so the sender's retry acts.
    """
    try:
        env = parse_envelope(event)
        if not env.known:
            log.debug("ignoring %s event %r", env.source, env.detail_type)
            return "ignored"
        change = normalise(env)
    except EventError as exc:
        log.warning("malformed EventBridge event: %s", exc)
        return "malformed"
    if change is None:
        return "ignored"
    rules = EventFilter.from_settings(services.settings)
    if not rules.relevant(change):
        log.debug("event %s is about another resource", env.id)
        return "filtered"
    with dedupe.claim(services.store, f"eb:{env.id}", dedupe.EVENTBRIDGE_TTL_SECONDS) as first:
        if not first:
            return "duplicate"
        if isinstance(change, AlarmChange):
            return _alarm(services, notifier, change)
        if isinstance(change, EndpointDeploymentChange) and change.failed:
            environment = rules.environment_of(change.endpoint_name) or "production"
            # SageMaker may send the same failure several times, each with its own id.
            moment = change.modified_at.isoformat() if change.modified_at else ""
            same = dedupe.digest(change.endpoint_name, moment, change.failure_reason or change.raw_status)
            key = f"deploy-failure:{change.endpoint_name}:{same[:16]}"
            with dedupe.claim(services.store, f"eb-{key}") as new:
                if not new:
                    return "duplicate"
                version = _production_version(services)
                msg = render.deployment_failure(change, environment, version)
                notifier.upsert(key, msg.text, msg.blocks)
            return "deployment_failure"
        handler = platform_handler or handle_platform_event
        handler(services, notifier, dict(env.raw))
        return "delegated"


def _alarm(services: Services, notifier: Notifier, alarm: AlarmChange) -> str:
    store = services.store
    if alarm.firing:
        at = (alarm.at or datetime.now(UTC)).isoformat()
        key = f"alarm:{alarm.alarm_name}:{at}"
        with dedupe.claim(store, f"eb-{key}") as new:
            if not new:
                return "duplicate"
            msg = render.alarm_alert(alarm, _production_version(services))
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


def _eventbridge_route(
    services: Services, notifier: Notifier, platform_handler: PlatformHandler | None
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        token = services.settings.events_token
        if token is None or not token.get_secret_value():
            return _unauthorized("EVENTS_TOKEN is not configured")
        presented = ci.bearer_token(request.headers.get("authorization")) or ""
        if not hmac.compare_digest(presented.encode(), token.get_secret_value().encode()):
            return _unauthorized("wrong or missing bearer token")
        body = await _body(request, services)
        if isinstance(body, Response):
            return body
        try:
            events = parse_body(body)
            for event in events:  # all or nothing: a batch with a bad entry is refused whole
                env = parse_envelope(event)
                if env.known:
                    normalise(env)
        except EventError as exc:
            return _json(400, error=str(exc))

        def work() -> list[str]:
            return [
                dispatch_eventbridge(services, notifier, e, platform_handler=platform_handler) for e in events
            ]

        try:
            outcomes = await run_in_threadpool(work)
        except Exception:
            log.exception("EventBridge delivery failed; the sender will retry")
            return _json(500, error="processing failed; retry")
        return _json(200, results=outcomes)

    return endpoint


# -- GitHub ------------------------------------------------------------------------------------------


class GitHubAnnouncer:
    """One Slack message per workflow run, updated in place; failures of its jobs in its thread."""

    def __init__(self, services: Services, notifier: Notifier) -> None:
        self.services = services
        self.notifier = notifier
        settings = services.settings
        self.filter = github.GitHubFilter.create(settings.github_repositories, settings.github_workflows)
        self._warned = threading.Event()

    @staticmethod
    def run_key(repository: str, run_id: int) -> str:
        return f"gh:{repository.lower()}:{run_id}"

    def handle(self, event: github.GitHubEvent) -> str:
        if not self.filter.repositories:
            if not self._warned.is_set():
                self._warned.set()
                log.warning("GITHUB_REPOSITORIES is empty: GitHub webhooks are accepted but not announced")
            return "not_configured"
        if isinstance(event, github.WorkflowRun):
            return self._run(event) if self.filter.allows(event) else "filtered"
        if isinstance(event, github.JobFailure):
            # Known from our own state, not from Slack: the run message may still be queued.
            announced = event.run_id is not None and (
                self.services.store.get(NS_GH_STATE, self.run_key(event.repository, event.run_id)) is not None
            )
            return self._job(event) if self.filter.allows(event, announced) else "filtered"
        if isinstance(event, github.DeploymentStatus):
            return self._deployment(event) if self.filter.allows(event) else "filtered"
        return "ignored"

    def _advance(self, key: str, rank: list[int]) -> tuple[bool, dict[str, Any] | None]:
        """Record ``rank`` for ``key`` unless an equal or later state is already recorded."""
        store = self.services.store
        new = {"rank": rank}
        for _ in range(10):
            current = store.get(NS_GH_STATE, key)
            if current is None:
                if store.put_if_absent(NS_GH_STATE, key, new, STATE_TTL_SECONDS):
                    return True, None
                continue
            if list(current.get("rank", [])) >= rank:
                return False, current
            if store.replace_if(NS_GH_STATE, key, current, new):
                return True, current
        return False, None

    def _undo(self, key: str, rank: list[int], previous: dict[str, Any] | None) -> None:
        store = self.services.store
        if previous is None:
            store.delete(NS_GH_STATE, key)
        else:
            store.replace_if(NS_GH_STATE, key, {"rank": rank}, previous)

    def _upsert_in_order(
        self, key: str, rank: list[int], msg: render.Message, thread_key: str | None = None
    ) -> bool:
        advanced, previous = self._advance(key, rank)
        if not advanced:
            return False  # a later state already shows: an older delivery must not overwrite it
        try:
            self.notifier.upsert(key, msg.text, msg.blocks, thread_key=thread_key)
        except BaseException:
            self._undo(key, rank, previous)
            raise
        return True

    def _run(self, run: github.WorkflowRun) -> str:
        key = self.run_key(run.repository, run.run_id)
        shown = self._upsert_in_order(key, [run.attempt, run.phase], render.workflow_run(run))
        return f"run_{run.status}" if shown else "stale"

    def _job(self, job: github.JobFailure) -> str:
        # Actions reports a failed job twice (workflow_job and check_run, same id): say it once.
        with dedupe.claim(self.services.store, f"ghjob:{job.repository.lower()}:{job.job_id}") as first:
            if not first:
                return "duplicate"
            thread = (
                self.run_key(job.repository, job.run_id)
                if job.run_id is not None
                else f"gh:{job.repository.lower()}:check:{job.job_id}"
            )
            msg = render.job_failure(job)
            self.notifier.reply(thread, msg.text, msg.blocks)
        return f"{job.source}_failure"

    def _deployment(self, status: github.DeploymentStatus) -> str:
        key = f"gh:{status.repository.lower()}:deployment:{status.deployment_id}"
        thread = self.run_key(status.repository, status.run_id) if status.run_id is not None else None
        rank = [_DEPLOY_RANK.get(status.state, 2)]
        shown = self._upsert_in_order(key, rank, render.deployment_status(status), thread_key=thread)
        return f"deployment_{status.state}" if shown else "stale"


def _github_route(services: Services, notifier: Notifier) -> Callable[[Request], Awaitable[Response]]:
    announcer = GitHubAnnouncer(services, notifier)

    async def endpoint(request: Request) -> Response:
        secret = services.settings.github_webhook_secret
        if secret is None or not secret.get_secret_value():
            return _unauthorized("GITHUB_WEBHOOK_SECRET is not configured")
        body = await _body(request, services)
        if isinstance(body, Response):
            return body
        signature = request.headers.get(github.SIGNATURE_HEADER)
        if not github.verify_signature(secret.get_secret_value(), body, signature):
            return _unauthorized(f"missing or wrong {github.SIGNATURE_HEADER}")
        name = request.headers.get(github.EVENT_HEADER)
        if not name:
            return _json(400, error=f"missing {github.EVENT_HEADER} header")
        try:
            payload = json.loads(body)
            event = github.parse_event(name, payload)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return _json(400, error=f"body is not JSON: {exc}")
        except RecursionError:
            return _json(400, error="body is nested too deeply")
        except github.WebhookError as exc:
            return _json(400, error=f"{name} payload: {exc}")
        if event is None:
            log.debug("ignoring GitHub %s event", name)
            return _json(200, ignored=name)
        if isinstance(event, github.Ping):
            return _json(200, zen=event.zen, hook_id=event.hook_id)
        delivery = request.headers.get(github.DELIVERY_HEADER) or dedupe.digest(name, body)

        def work() -> str:
            with dedupe.claim(services.store, f"gh:{delivery}") as first:
                return announcer.handle(event) if first else "duplicate"

        try:
            result = await run_in_threadpool(work)
        except Exception:
            log.exception("GitHub delivery %s failed", delivery)
            return _json(500, error="processing failed; redeliver")
        return _json(200, result=result)

    return endpoint


# -- CI ------------------------------------------------------------------------------------------------


def _ci_route(
    services: Services, notifier: Notifier, verifier: ci.OIDCVerifier | None
) -> Callable[[Request], Awaitable[Response]]:
    lock = threading.Lock()
    holder: list[ci.OIDCVerifier] = [verifier] if verifier is not None else []

    def get_verifier() -> ci.OIDCVerifier:
        with lock:  # built on first use: the JWKS client is not needed by runtimes without CI
            if not holder:
                holder.append(ci.OIDCVerifier.from_settings(services.settings))
            return holder[0]

    def act(identity: ci.CIIdentity, report: ci.StagingValidation | ci.PipelineResult, key: str) -> Response:
        with dedupe.claim(services.store, key) as first:
            if not first:
                return _json(200, duplicate=True)
            if isinstance(report, ci.PipelineResult):
                msg = render.pipeline_result(report, identity)
                notifier.reply(run_key(report.execution_arn), msg.text, msg.blocks)
                return _json(200, result="pipeline_result")
            serving = services.release.serving("staging")
            if serving != report.version:
                dedupe.release(services.store, key)
                now = f"v{serving}" if serving is not None else "no model"
                return _json(
                    409,
                    error=f"staging serves {now}, not v{report.version}: the report cannot be for it",
                )
            result = services.release.record_validation(
                identity.as_actor(),
                report.version,
                "staging",
                report.passed,
                report.report,
                source=f"ci:{identity.repository}@{report.run_url or identity.run_id or 'unknown run'}",
            )
            if result.outcome is not Outcome.DONE:
                dedupe.release(services.store, key)
                return _json(409, error=result.message, outcome=result.outcome.value)
            return _json(200, result="staging_validation", message=result.message)

    async def endpoint(request: Request) -> Response:
        token = ci.bearer_token(request.headers.get("authorization"))
        if token is None:
            return _unauthorized("missing bearer token")
        try:
            identity = await run_in_threadpool(get_verifier().verify, token)
        except ci.AuthError as exc:
            log.warning("refused a CI report: %s", exc)
            return _unauthorized(str(exc))
        except ci.VerifierUnavailable as exc:
            log.error("cannot verify CI tokens: %s", exc)
            return _json(503, error="cannot verify tokens right now; retry")
        body = await _body(request, services)
        if isinstance(body, Response):
            return body
        try:
            report = ci.parse_report(body)
        except ci.ReportError as exc:
            return _json(400, error=str(exc))
        # One token per job run: its jti makes a retried POST act once.
        key = f"ci:{identity.jti}" if identity.jti else f"ci:{dedupe.digest(token, body)}"
        try:
            return await run_in_threadpool(act, identity, report, key)
        except PlatformError as exc:
            return _json(502, error=f"the ML platform failed: {exc}")
        except Exception:
            log.exception("CI report from %s failed", identity.repository)
            return _json(500, error="processing failed; retry")

    return endpoint


def ingest_routes(
    services: Services,
    notifier: Notifier,
    *,
    verifier: ci.OIDCVerifier | None = None,
    platform_handler: PlatformHandler | None = None,
) -> list[Route]:
    """``POST /events/eventbridge``, ``POST /github/webhook`` and ``POST /ci/report``."""
    return [
        Route(
            "/events/eventbridge", _eventbridge_route(services, notifier, platform_handler), methods=["POST"]
        ),
        Route("/github/webhook", _github_route(services, notifier), methods=["POST"]),
        Route("/ci/report", _ci_route(services, notifier, verifier), methods=["POST"]),
    ]
