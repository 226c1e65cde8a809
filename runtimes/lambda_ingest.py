"""The Lambda runtime's non-Slack HTTP routes: GitHub, CI, EventBridge and the health check, through Mangum.

Imported by the first request for one of them (``LambdaRuntime.ingest``), never by the cold start:
Starlette, Mangum and the routes are work Slack's requests do not need.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from mangum import Mangum
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.core.store import StoreError
from bot.services import Services
from runtimes.assembly import incoming_routes
from runtimes.lambda_runtime import HEALTH_PATH

log = logging.getLogger(__name__)


def ingest_app(services: Services) -> Mangum:
    """The same incoming-event routes as the HTTP server's, plus the one health check."""
    routes = [*incoming_routes(services), Route(HEALTH_PATH, _healthz(services))]
    return Mangum(Starlette(routes=routes), lifespan="off")


def _healthz(services: Services) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(_: Request) -> Response:
        try:
            services.store.get("health", "probe")
        except (StoreError, OSError) as exc:
            log.warning("health check: store failed: %s", exc)
            return JSONResponse({"status": "degraded", "store": str(exc)}, status_code=503)
        return JSONResponse({"status": "ok", "backend": services.platform.name, "runtime": "lambda"})

    return endpoint
