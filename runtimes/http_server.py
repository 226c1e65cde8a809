"""The HTTP runtime: Slack at ``POST /slack/events``, plus health and metrics.

The Bolt app is synchronous: each dispatch runs on a worker thread (bounded by a
capacity limiter) so the event loop keeps accepting requests, and each returns as
soon as the listener acknowledges; slow work continues on Bolt's own executor.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from functools import partial
from typing import Any
from urllib.parse import parse_qs

import anyio
import anyio.to_thread
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.core.store import StoreError
from bot.limits import BodyRefused, Limits, read_body
from bot.services import Services
from bot.settings import Settings
from handlers.middleware.edge import MALFORMED_BODY, SlackEdge
from runtimes.assembly import AckFirst
from runtimes.http_guard import CloseUnreadBodies, uvicorn_config

log = logging.getLogger(__name__)

__all__ = ["DISPATCH_THREADS", "MALFORMED_BODY", "SlackMetrics", "build_asgi", "request_kind", "serve"]

#: Concurrent Bolt dispatches; each holds a thread only until its listener acknowledges.
DISPATCH_THREADS = 64


class SlackMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "mlops_slack_requests",
            "Slack requests by kind and HTTP outcome",
            ["kind", "status"],
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "mlops_slack_ack_seconds",
            "Time from receiving a Slack request to answering it (the acknowledgement)",
            ["kind"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0),
            registry=self.registry,
        )


#: Request kinds the metrics name; any other is "other".
_PAYLOAD_KINDS = ("block_actions", "view_submission", "view_closed", "shortcut", "block_suggestion")


def request_kind(body: str, content_type: str, parsed: object = None) -> str:
    """command / block_actions / view_submission / event_callback / ... for metrics labels.

    ``parsed``: the body as the edge parsed it, if it did, so that it is not parsed again.
    """
    if "json" in content_type:
        return "event"
    if isinstance(parsed, Mapping) and parsed:
        if "command" in parsed:
            return "command"
        kind = parsed.get("type")
        return kind if isinstance(kind, str) and kind in _PAYLOAD_KINDS else "other"
    form = parse_qs(body[:4096])  # not parsed, or a command whose text says "payload" (Bolt reads {})
    if "command" in form:
        return "command"
    payload = form.get("payload", [""])[0]
    for kind in _PAYLOAD_KINDS:
        if f'"type":"{kind}"' in payload.replace(" ", ""):
            return kind
    return "other"


def warm_up(services: Services) -> None:
    """Before serving: load what the first requests would, and take start-up objects out of the GC.

    ``/mlops train`` validation reads the pipeline parameters; ``gc.freeze`` keeps the long-lived
    start-up objects (models, clients, modules) out of every later collection, which shortens
    the pauses an ack can hit.
    """
    services.platform.pipeline_parameters()
    gc.collect()
    gc.freeze()


def build_http_app(
    services: Services, *, client: WebClient | None = None, extra_routes: Sequence[BaseRoute] = ()
) -> tuple[App, Starlette]:
    """The Bolt app as the HTTP runtime runs it: acks inline, slow work after, yielding to acks."""
    from runtimes.assembly import create_app, incoming_routes

    ack_first = AckFirst()
    app = create_app(services, client=client, process_before_response=True, listener_executor=ack_first)
    routes = [*incoming_routes(services), *extra_routes]
    return app, build_asgi(app, services, extra_routes=routes, ack_first=ack_first)


def build_asgi(
    app: App,
    services: Services,
    *,
    extra_routes: Sequence[BaseRoute] = (),
    metrics: SlackMetrics | None = None,
    dispatch_threads: int = DISPATCH_THREADS,
    ack_first: AckFirst | None = None,
) -> Starlette:
    """``ack_first``: the app's background executor, told when acks are in flight."""
    metrics = metrics or SlackMetrics()
    limiter: anyio.CapacityLimiter | None = None
    settings = services.settings
    limits = Limits.from_settings(settings)
    secret = settings.slack_signing_secret
    edge = SlackEdge(secret.get_secret_value() if secret is not None else "")

    async def slack_events(request: Request) -> Response:
        # Background work waits while a Slack request is in here (its body read, its ack computed),
        # not only while it is dispatched: all of that counts towards Slack's 3 seconds.
        with ack_first.acking() if ack_first is not None else nullcontext():
            return await answer(request)

    async def answer(request: Request) -> Response:
        nonlocal limiter
        if limiter is None:  # created inside the running event loop
            limiter = anyio.CapacityLimiter(dispatch_threads)
        started = time.perf_counter()
        try:
            raw = await read_body(request, limits)
        except BodyRefused as refused:
            metrics.requests.labels("refused", str(refused.status)).inc()
            return refused.response(as_json=False)
        body = raw.decode("utf-8", errors="replace")
        headers: dict[str, str | Sequence[str]] = {k: v for k, v in request.headers.items()}
        refusal, parsed = edge.inspect(body, headers)
        kind = request_kind(body, request.headers.get("content-type", ""), parsed)
        if refusal is not None:
            metrics.requests.labels(kind, str(refusal.status)).inc()
            return PlainTextResponse(refusal.text, status_code=refusal.status)
        try:
            bolt_request = BoltRequest(body=body, query=request.url.query, headers=headers)
        except MALFORMED_BODY as exc:  # Bolt parses the body before it checks the signature
            metrics.requests.labels(kind, "400").inc()
            log.info("refused a malformed Slack request body: %s", type(exc).__name__)
            return Response("malformed request body", status_code=400)
        bolt: BoltResponse = await anyio.to_thread.run_sync(
            partial(app.dispatch, bolt_request), limiter=limiter
        )
        metrics.requests.labels(kind, str(bolt.status)).inc()
        metrics.ack_seconds.labels(kind).observe(time.perf_counter() - started)
        response_headers = {k: v[0] for k, v in bolt.headers.items() if v and k.lower() != "content-length"}
        return Response(content=bolt.body, status_code=bolt.status, headers=response_headers)

    async def healthz(_: Request) -> Response:
        checks: dict[str, Any] = {"backend": services.platform.name}
        ok = True
        try:
            await anyio.to_thread.run_sync(services.store.get, "health", "probe")
            checks["store"] = "ok"
        except (StoreError, OSError) as exc:
            log.warning("health check: store failed: %s", exc)
            checks["store"] = f"error: {exc}"
            ok = False
        checks["status"] = "ok" if ok else "degraded"
        return JSONResponse(checks, status_code=200 if ok else 503)

    async def prometheus(_: Request) -> Response:
        body = generate_latest(metrics.registry)
        if services.notifier is not None:  # dead letters and retries of the Slack outbox
            body += generate_latest(services.notifier.metrics.registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    routes: list[BaseRoute] = [
        Route("/slack/events", slack_events, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
        *extra_routes,
    ]
    asgi = Starlette(routes=routes, middleware=[Middleware(CloseUnreadBodies)])
    asgi.state.metrics = metrics
    asgi.state.limits = limits
    return asgi


def serve(
    host: str = "127.0.0.1",
    port: int = 3000,
    *,
    app: App | None = None,
    services: Services | None = None,
) -> None:
    """Run the HTTP runtime with uvicorn until interrupted (building services and app from settings)."""
    import uvicorn

    from bot.core.service import local_owner_is_dead
    from bot.services import build_services
    from bot.settings import load_settings
    from handlers.scheduled_work import start_scheduled_work
    from runtimes.assembly import incoming_routes
    from runtimes.drift_publish import start_scheduled_check

    if services is None:
        services = build_services(load_settings(), host_endpoints_in_process=True)
    try:
        if app is None:
            app, asgi = build_http_app(services)
        else:
            asgi = build_asgi(app, services, extra_routes=incoming_routes(services))
        for settled in services.release.recover(local_owner_is_dead):
            log.warning("recovered at start-up: %s", settled.message)
        warm_up(services)
        watch = start_scheduled_check(services, services.notifier)
        ticker = start_scheduled_work(services, services.notifier)
        config = uvicorn_config(
            asgi,
            Limits.from_settings(services.settings),
            host=host,
            port=port,
            log_level="info",
            access_log=False,
        )
        try:
            uvicorn.Server(config).run()
        finally:
            if watch is not None:
                watch.close()
            if ticker is not None:
                ticker.close()
    finally:
        services.close()


def main_serve(settings: Settings, *, host: str, port: int) -> int:
    """``mlops-bot serve``: Slack needs the signing secret and the bot token."""
    from bot.services import build_services

    settings.require("slack_signing_secret", "slack_bot_token")
    serve(host, port, services=build_services(settings, host_endpoints_in_process=True))
    return 0
