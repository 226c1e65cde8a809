"""What every incoming-event route shares: JSON answers, refusals of the caller, and the capped body read."""

from __future__ import annotations

import hmac
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.ingest import ci
from bot.limits import BodyRefused, Limits, read_body
from bot.services import Services
from ml.platform import PlatformError

log = logging.getLogger(__name__)


def answer(status: int, **body: Any) -> JSONResponse:
    return JSONResponse({"ok": 200 <= status < 300, **body}, status_code=status)


def unauthorized(reason: str) -> JSONResponse:
    return JSONResponse(
        {"ok": False, "error": "unauthorized", "reason": reason},
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


def bearer_refusal(request: Request, token: str | None, setting: str) -> Response | None:
    """401 unless the request carries ``token`` as its bearer token (compared in constant time)."""
    if not token:
        return unauthorized(f"{setting} is not configured")
    presented = ci.bearer_token(request.headers.get("authorization")) or ""
    if not hmac.compare_digest(presented.encode(), token.encode()):
        return unauthorized("wrong or missing bearer token")
    return None


async def body_or_refusal(request: Request, services: Services) -> bytes | Response:
    """The body, read up to the configured cap (413 past it, before anything parses it)."""
    try:
        return await read_body(request, Limits.from_settings(services.settings))
    except BodyRefused as refused:
        return refused.response(as_json=True)


def production_version(services: Services) -> int | None:
    try:
        return services.release.serving("production")
    except PlatformError:
        log.exception("cannot tell which version production serves")
        return None
