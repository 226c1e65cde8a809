"""The AWS Lambda runtime: one function for Slack, GitHub, CI and EventBridge.

What arrives, and where it goes:

* HTTP (function URL / HTTP API payload v2, or REST API v1) at ``/slack/events``: Bolt's
  ``SlackRequestHandler``. The app runs with ``process_before_response=True``; slow work is in
  lazy listeners, which Bolt runs by invoking this function again asynchronously with the
  original request (``x-slack-bolt-lazy-only``), so the same path handles both halves.
* HTTP at ``/github/webhook``, ``/ci/report`` and ``/events/eventbridge``: the very routes the HTTP
  server mounts (``ingest_routes``), run in process through a small ASGI bridge, so signature,
  token, dedupe and error handling are the same code on every runtime.
* A direct EventBridge invocation (an event with ``source`` and ``detail-type``):
  ``dispatch_eventbridge``. A failure raises, so Lambda's asynchronous retry acts again.

Everything expensive (secrets, settings, boto3 clients, the Bolt app) is built once per cold start,
at import time on Lambda. Notifications are written to the store's outbox and sent before the
invocation returns (except on Slack's 3-second acknowledgement path); whatever is left is sent by
the next invocation on any instance.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import threading
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote, urlencode

import boto3
from slack_bolt import App
from slack_bolt.adapter.aws_lambda import SlackRequestHandler
from slack_bolt.adapter.aws_lambda.lazy_listener_runner import LambdaLazyListenerRunner
from slack_sdk import WebClient

from bot.core.store import StoreError
from bot.limits import BodyRefused, Limits, decoded_lambda_body
from bot.notify import Notifier
from bot.services import Services, build_services
from bot.settings import ConfigError, Settings, load_settings
from handlers.events import dispatch_eventbridge
from handlers.middleware.edge import LAZY_HEADER, MALFORMED_BODY, SlackEdge, header
from runtimes.assembly import build_notifier, create_app, incoming_routes

log = logging.getLogger(__name__)

__all__ = [
    "INGEST_PATHS",
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
HEALTH_PATH = "/healthz"
#: Keys of the JSON secret that ``MLOPS_SECRETS_ARN`` names; each becomes an environment variable.
SECRET_KEYS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "GITHUB_WEBHOOK_SECRET", "EVENTS_TOKEN")
#: The value the stack's secret is created with until an operator writes the real tokens.
PLACEHOLDER = "REPLACE_ME"
#: Longest time an invocation spends sending queued Slack messages before it returns.
FLUSH_SECONDS = 20.0
#: Time kept back from the invocation's deadline for returning the response.
DEADLINE_MARGIN_SECONDS = 2.0
#: Outbox lease of one instance; short, since frozen instances hold it until it lapses.
LEASE_SECONDS = 10
#: Bolt's Lambda runner marks its asynchronous re-invocation so (a key no HTTP event can carry).
LAZY_INVOCATION = ("method", "NONE")

LambdaResponse = dict[str, Any]


# -- secrets ----------------------------------------------------------------------------------------


def load_secrets(environ: MutableMapping[str, str] | None = None, client: Any = None) -> list[str]:
    """Copy the tokens of the JSON secret ``MLOPS_SECRETS_ARN`` into ``environ``; the keys set.

    One GetSecretValue call per cold start. The secret is the source of truth on Lambda, so its
    values replace any environment variable of the same name. Placeholder values are skipped: a
    well-known string must never become a webhook or events secret.
    """
    env = os.environ if environ is None else environ
    arn = env.get("MLOPS_SECRETS_ARN", "").strip()
    if not arn:
        return []
    sm = client if client is not None else boto3.client("secretsmanager")
    try:
        response = sm.get_secret_value(SecretId=arn)
    except Exception as exc:
        raise ConfigError(f"cannot read MLOPS_SECRETS_ARN {arn}: {exc}") from exc
    text = response.get("SecretString")
    if not isinstance(text, str):
        raise ConfigError(f"secret {arn} has no SecretString (a JSON object of {', '.join(SECRET_KEYS)})")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"secret {arn} is not JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"secret {arn} must be a JSON object of {', '.join(SECRET_KEYS)}")
    unknown = sorted(set(data) - set(SECRET_KEYS))
    if unknown:
        log.warning("secret %s: ignoring unknown key(s) %s", arn, ", ".join(unknown))
    loaded, placeholders = [], []
    for key in SECRET_KEYS:
        value = data.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise ConfigError(f"secret {arn}: {key} must be a string")
        if value.strip() == PLACEHOLDER:
            placeholders.append(key)
            continue
        env[key] = value
        loaded.append(key)
    if placeholders:
        log.warning("secret %s still holds placeholders for %s", arn, ", ".join(placeholders))
    return loaded


# -- the runtime ------------------------------------------------------------------------------------


@dataclass
class LambdaRuntime:
    """What one Lambda instance keeps between invocations."""

    services: Services
    app: App
    slack: SlackRequestHandler
    notifier: Notifier
    ingest: Any  # the Starlette app of the ingest routes
    dispatch_eventbridge: Callable[..., str]
    loop: asyncio.AbstractEventLoop
    limits: Limits
    edge: SlackEdge

    def close(self) -> None:
        self.notifier.close(timeout=0)
        self.services.close()
        self.loop.close()


def build_runtime(
    settings: Settings | None = None,
    *,
    services: Services | None = None,
    client: WebClient | None = None,
    lambda_client: Any = None,
    secrets_client: Any = None,
) -> LambdaRuntime:
    """Secrets, settings, services, Bolt app and ingest routes, as one cold start builds them."""
    if settings is None:
        load_secrets(client=secrets_client)
        settings = load_settings()
    if settings.mlops_store != "dynamodb":
        raise ConfigError(
            "MLOPS_STORE must be dynamodb on Lambda: instances share nothing else "
            f"(got {settings.mlops_store!r})"
        )
    settings.require("slack_bot_token", "slack_signing_secret")
    assert settings.slack_bot_token is not None and settings.slack_signing_secret is not None
    services = services or build_services(settings)
    if client is None:
        client = WebClient(token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url)
    # No worker thread: a frozen instance cannot send. Each invocation flushes what it queued.
    notifier = build_notifier(services, client, start_worker=False, lease_seconds=LEASE_SECONDS)
    # auth.test at construction would add a Slack round trip to every cold start.
    app = create_app(services, client=client, process_before_response=True, token_verification_enabled=False)
    slack = SlackRequestHandler(app)
    runner = app.listener_runner.lazy_listener_runner
    if not isinstance(runner, LambdaLazyListenerRunner):
        raise TypeError(f"expected Bolt's Lambda lazy listener runner, got {type(runner).__name__}")
    # Created now rather than inside the first acknowledgement (boto3 clients take ~0.2 s).
    runner.lambda_client = lambda_client if lambda_client is not None else boto3.client("lambda")
    from starlette.applications import Starlette
    from starlette.routing import Route

    # The same incoming-event routes as the HTTP server's, plus Lambda's own health check.
    routes = [*incoming_routes(services), Route(HEALTH_PATH, _healthz(services))]
    return LambdaRuntime(
        services=services,
        app=app,
        slack=slack,
        notifier=notifier,
        ingest=Starlette(routes=routes),
        dispatch_eventbridge=dispatch_eventbridge,
        loop=asyncio.new_event_loop(),
        limits=Limits.from_settings(settings),
        edge=SlackEdge(settings.slack_signing_secret.get_secret_value()),
    )


def _healthz(services: Services) -> Callable[[Any], Any]:
    from starlette.responses import JSONResponse

    async def endpoint(_: Any) -> JSONResponse:
        try:
            services.store.get("health", "probe")
        except (StoreError, OSError) as exc:
            log.warning("health check: store failed: %s", exc)
            return JSONResponse({"status": "degraded", "store": str(exc)}, status_code=503)
        return JSONResponse({"status": "ok", "backend": services.platform.name, "runtime": "lambda"})

    return endpoint


class _Holder:
    """This instance's runtime (a class attribute, so no ``global`` statement is needed)."""

    runtime: LambdaRuntime | None = None
    lock = threading.Lock()


def runtime() -> LambdaRuntime:
    """This instance's runtime, built on first use outside Lambda (on Lambda: at import)."""
    with _Holder.lock:
        if _Holder.runtime is None:
            _Holder.runtime = build_runtime()
        return _Holder.runtime


def set_runtime(value: LambdaRuntime | None) -> LambdaRuntime | None:
    """Install a runtime (tests, custom wiring); returns the previous one."""
    with _Holder.lock:
        previous, _Holder.runtime = _Holder.runtime, value
        return previous


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
                return _call_asgi(rt, event, path)
            except BodyRefused as refused:
                return _text(refused.status, refused.reason)
            finally:
                _flush(rt, context)
        return _text(404, f"no route for {path}")
    if "source" in event and "detail-type" in event:
        try:
            outcome = rt.dispatch_eventbridge(rt.services, rt.notifier, event)
        finally:
            _flush(rt, context)
        log.info("EventBridge %s %s: %s", event.get("detail-type"), event.get("id"), outcome)
        return {"outcome": outcome}
    raise ValueError(
        "unrecognised Lambda event: neither an HTTP request (requestContext) nor an EventBridge event "
        f"(source, detail-type); keys: {sorted(event)[:10]}"
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
            _flush(rt, context)


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


def _method(event: Mapping[str, Any]) -> str:
    ctx = event.get("requestContext") or {}
    http = ctx.get("http")
    if isinstance(http, Mapping) and http.get("method"):
        return str(http["method"]).upper()
    return str(event.get("httpMethod") or ctx.get("httpMethod") or "GET").upper()


def _headers(event: Mapping[str, Any]) -> list[tuple[bytes, bytes]]:
    """ASGI headers: v2 joins repeated headers with commas; v1 may carry multiValueHeaders."""
    pairs: list[tuple[bytes, bytes]] = []
    multi = event.get("multiValueHeaders")
    if isinstance(multi, Mapping) and multi:
        for name, values in multi.items():
            for value in values if isinstance(values, list) else [values]:
                pairs.append((str(name).lower().encode("latin-1"), str(value).encode("latin-1")))
    else:
        for name, value in (event.get("headers") or {}).items():
            pairs.append((str(name).lower().encode("latin-1"), str(value).encode("latin-1")))
    cookies = event.get("cookies")
    if isinstance(cookies, list) and cookies:
        pairs.append((b"cookie", "; ".join(map(str, cookies)).encode("latin-1")))
    return pairs


def _query(event: Mapping[str, Any]) -> str:
    if "rawQueryString" in event:
        return str(event.get("rawQueryString") or "")
    multi = event.get("multiValueQueryStringParameters")
    if isinstance(multi, Mapping) and multi:
        return urlencode([(k, v) for k, vs in multi.items() for v in vs], quote_via=quote)
    single = event.get("queryStringParameters")
    return urlencode(dict(single), quote_via=quote) if isinstance(single, Mapping) else ""


def _call_asgi(rt: LambdaRuntime, event: Mapping[str, Any], path: str) -> LambdaResponse:
    """Run one request through the ingest routes' ASGI app and shape the result for Lambda."""
    ctx = event.get("requestContext") or {}
    source_ip = str(
        (ctx.get("http") or {}).get("sourceIp") or (ctx.get("identity") or {}).get("sourceIp") or ""
    )
    body = decoded_lambda_body(event, rt.limits.max_body_bytes)
    headers = _headers(event)
    if not any(name == b"content-length" for name, _ in headers):
        headers.append((b"content-length", str(len(body)).encode()))
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": _method(event),
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": _query(event).encode(),
        "headers": headers,
        "client": (source_ip, 0),
        "server": (str(ctx.get("domainName") or "lambda"), 443),
    }
    status = 500
    response_headers: dict[str, str] = {}
    chunks: list[bytes] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
            for name, value in message.get("headers", []):
                response_headers[name.decode("latin-1")] = value.decode("latin-1")
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))

    rt.loop.run_until_complete(rt.ingest(scope, receive, send))
    payload = b"".join(chunks)
    response_headers.pop("content-length", None)
    try:
        return {
            "statusCode": status,
            "headers": response_headers,
            "body": payload.decode("utf-8"),
            "isBase64Encoded": False,
        }
    except UnicodeDecodeError:
        return {
            "statusCode": status,
            "headers": response_headers,
            "body": base64.b64encode(payload).decode("ascii"),
            "isBase64Encoded": True,
        }


def _text(status: int, text: str) -> LambdaResponse:
    return {
        "statusCode": status,
        "headers": {"content-type": "text/plain; charset=utf-8"},
        "body": text,
        "isBase64Encoded": False,
    }


def _flush(rt: LambdaRuntime, context: Any) -> None:
    """Send what this invocation queued, within its deadline; leftovers stay in the outbox."""
    budget = FLUSH_SECONDS
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        budget = min(budget, remaining() / 1000 - DEADLINE_MARGIN_SECONDS)
    try:
        if budget > 0 and not rt.notifier.flush(timeout=budget):
            log.warning("Slack outbox not empty after %.1f s; the next invocation carries on", budget)
    except Exception:
        log.exception("sending Slack notifications failed; they stay queued")
    finally:
        # Let another instance drain at once instead of waiting for this frozen one's lease.
        rt.notifier.close(timeout=0)


# Cold start: on Lambda everything is built while the init phase runs (with full CPU), not inside
# the first request's 3 seconds.
if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") and not os.environ.get("MLOPS_LAMBDA_LAZY_INIT"):
    set_runtime(build_runtime())
    log.info("mlops-bot Lambda runtime ready")
