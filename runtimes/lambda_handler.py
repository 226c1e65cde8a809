"""The AWS Lambda runtime: one function for Slack, GitHub, CI and EventBridge.

What arrives, and where it goes:

* HTTP (function URL / HTTP API payload v2, or REST API v1) at ``/slack/events``: Bolt's
  ``SlackRequestHandler``. The app runs with ``process_before_response=True``; slow work is in
  lazy listeners, which Bolt runs by invoking this function again asynchronously with the
  original request (``x-slack-bolt-lazy-only``), so the same path handles both halves.
* HTTP at ``/github/webhook``, ``/ci/report`` and ``/events/eventbridge``: the very routes the HTTP
  server mounts (``ingest_routes``), run in process through Mangum, so signature, token, dedupe
  and error handling are the same code on every runtime; ``/healthz`` likewise.
* A direct EventBridge invocation (an event with ``source`` and ``detail-type``):
  ``dispatch_eventbridge``, which parses it into its typed model once. A failure raises, so
  Lambda's asynchronous retry acts again.
* The scheduled-work payload (``SCHEDULED_WORK_EVENT``, sent by an EventBridge Scheduler schedule):
  one round of due approval reminders and expiries, each claimed in the store so done once.

Everything expensive (secrets, settings, boto3 clients, the Bolt app) is built once per cold start,
at import time on Lambda. Notifications are written to the store's outbox and sent before the
invocation returns (except on Slack's 3-second acknowledgement path); whatever is left is sent by
the next invocation on any instance.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any, cast

from bot.limits import BodyRefused, decoded_lambda_body
from handlers.middleware.edge import LAZY_HEADER, MALFORMED_BODY, header
from runtimes.lambda_runtime import HEALTH_PATH, InstanceRuntime, LambdaRuntime, build_runtime
from runtimes.lambda_secrets import SECRET_KEYS, load_secrets

log = logging.getLogger(__name__)

__all__ = [
    "INGEST_PATHS",
    "SCHEDULED_WORK_EVENT",
    "SECRET_KEYS",
    "SLACK_PATH",
    "LambdaRuntime",
    "build_runtime",
    "handler",
    "load_secrets",
    "runtime",
    "set_runtime",
]

SLACK_PATH = "/slack/events"
INGEST_PATHS = frozenset({"/github/webhook", "/ci/report", "/events/eventbridge"})
#: Bolt's Lambda runner marks its asynchronous re-invocation so (a key no HTTP event can carry).
LAZY_INVOCATION = ("method", "NONE")
#: what the scheduled-work schedule sends (infra/template.yaml ``ScheduledWorkSchedule``)
SCHEDULED_WORK_EVENT: Mapping[str, str] = {"mlops-bot": "scheduled-work"}

LambdaResponse = dict[str, Any]


_INSTANCE: InstanceRuntime[LambdaRuntime] = InstanceRuntime(build_runtime)


def runtime() -> LambdaRuntime:
    """This instance's runtime, built on first use outside Lambda (on Lambda: at import)."""
    return _INSTANCE.get()


def set_runtime(value: LambdaRuntime | None) -> LambdaRuntime | None:
    """Install a runtime (tests, custom wiring); returns the previous one."""
    return _INSTANCE.set(value)


# -- routing ----------------------------------------------------------------------------------------


def handler(event: Mapping[str, Any], context: Any) -> LambdaResponse | dict[str, Any]:
    """The Lambda entry point (``runtimes.lambda_handler.handler``)."""
    rt = runtime()
    if not isinstance(event, Mapping):
        raise TypeError(f"a Lambda event must be a JSON object, not {type(event).__name__}")
    if _is_http(event):
        path = _path(event)
        if path == SLACK_PATH:
            return _slack(rt, event, context)
        if path in INGEST_PATHS or path == HEALTH_PATH:
            try:
                return _ingest(rt, event, path, context)
            except BodyRefused as refused:
                return _text(refused.status, refused.reason)
            finally:
                rt.flush(context)
        return _text(404, f"no route for {path}")
    if event.get("mlops-bot") == SCHEDULED_WORK_EVENT["mlops-bot"]:
        return _scheduled_work(rt, context)
    if "source" in event and "detail-type" in event:
        try:
            outcome = rt.dispatch_eventbridge(event)
        finally:
            rt.flush(context)
        log.info("EventBridge %s %s: %s", event.get("detail-type"), event.get("id"), outcome)
        return {"outcome": outcome}
    raise ValueError(
        "unrecognised Lambda event: neither an HTTP request (requestContext), an EventBridge event "
        f"(source, detail-type) nor {SCHEDULED_WORK_EVENT}; keys: {sorted(event)[:10]}"
    )


def _slack(rt: LambdaRuntime, event: Mapping[str, Any], context: Any) -> LambdaResponse:
    """Size, headers and shape checked before Bolt verifies the signature and dispatches."""
    lazy = (event.get(LAZY_INVOCATION[0]) == LAZY_INVOCATION[1]) and header(
        event.get("headers") or {}, LAZY_HEADER
    ) is not None
    try:
        body = decoded_lambda_body(event, rt.limits.max_body_bytes).decode("utf-8")
    except BodyRefused as refused:
        return _text(refused.status, refused.reason)
    except UnicodeDecodeError:
        return _text(400, "malformed request body: not UTF-8")
    refusal = rt.edge.check(body, event.get("headers") or {}, lazy_allowed=lazy)
    if refusal is not None:
        return _text(refusal.status, refusal.text)
    try:
        return cast(LambdaResponse, cast(Any, rt.slack).handle(dict(event), context))
    except MALFORMED_BODY as exc:  # Bolt parses the body before it checks the signature
        log.info("refused a malformed Slack request body: %s", type(exc).__name__)
        return _text(400, "malformed request body")
    finally:
        if lazy:  # the acknowledgement path returns at once; lazy work flushes what it queued
            rt.flush(context)


def _scheduled_work(rt: LambdaRuntime, context: Any) -> dict[str, Any]:
    """One round of due reminders and expiries; what it posted is sent before the invocation returns."""
    from handlers.scheduled_work import ScheduledWork

    try:
        report = ScheduledWork(rt.services, rt.notifier).run_due()
    finally:
        rt.flush(context)
    log.info("scheduled work: reminded %s, expired %s", report.reminded, report.expired)
    return {"reminded": report.reminded, "expired": report.expired, "skipped": report.skipped}


def _is_http(event: Mapping[str, Any]) -> bool:
    ctx = event.get("requestContext")
    return isinstance(ctx, Mapping) and ("http" in ctx or "httpMethod" in event or "httpMethod" in ctx)


def _path(event: Mapping[str, Any]) -> str:
    ctx = event.get("requestContext") or {}
    if event.get("version") == "2.0" or "rawPath" in event:
        path = str(event.get("rawPath") or ctx.get("http", {}).get("path") or "/")
        stage = str(ctx.get("stage") or "$default")
        # HTTP APIs put a named stage in front of the route path.
        if stage != "$default" and path.startswith(f"/{stage}/"):
            path = path[len(stage) + 1 :]
    else:
        path = str(event.get("path") or "/")
    return path.rstrip("/") or "/"


def _ingest(rt: LambdaRuntime, event: Mapping[str, Any], path: str, context: Any) -> LambdaResponse:
    """One request through Mangum and the ingest routes, its size checked before anything reads it."""
    decoded_lambda_body(event, rt.limits.max_body_bytes)  # raises BodyRefused past the cap
    routed = dict(event)
    ctx = event.get("requestContext")
    http = ctx.get("http") if isinstance(ctx, Mapping) else None
    if isinstance(ctx, Mapping) and isinstance(http, Mapping):  # payload 2.0: the path without its stage
        routed["requestContext"] = {**ctx, "http": {**http, "path": path}}
        routed.setdefault("version", "2.0")
    else:
        routed["path"] = path
        routed.setdefault("resource", path)
    return rt.ingest(routed, context)


def _text(status: int, text: str) -> LambdaResponse:
    return {
        "statusCode": status,
        "headers": {"content-type": "text/plain; charset=utf-8"},
        "body": text,
        "isBase64Encoded": False,
    }


# Cold start: on Lambda everything is built while the init phase runs (with full CPU), not inside
# the first request's 3 seconds.
if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") and not os.environ.get("MLOPS_LAMBDA_LAZY_INIT"):
    set_runtime(build_runtime())
    log.info("mlops-bot Lambda runtime ready")
