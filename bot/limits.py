"""How much, and how slowly, an HTTP request may send: the body cap every route reads through.

A body is read as it streams in, before the caller is authenticated, and refused as soon as it
passes the cap: a chunked request declares no length, so the declared ``Content-Length`` is only a
shortcut. A body that takes longer than the body timeout to arrive (a slow-loris body) is refused
too. Every refusal closes the connection, so the rest of the body is never read.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

__all__ = ["BodyRefused", "Limits", "decoded_lambda_body", "read_body"]

#: Sent with every refusal of a body: the server stops reading and the client opens a new connection.
CLOSE = {"connection": "close"}


@dataclass(frozen=True)
class Limits:
    """What every HTTP route and runtime accepts; ``from_settings`` reads the ``MLOPS_*`` limits."""

    max_body_bytes: int = 1_000_000
    body_timeout_seconds: float = 10.0
    header_timeout_seconds: float = 10.0
    max_connections: int = 1000

    @classmethod
    def from_settings(cls, settings: Any) -> Limits:
        return cls(
            max_body_bytes=settings.mlops_max_body_bytes,
            body_timeout_seconds=settings.mlops_body_timeout_seconds,
            header_timeout_seconds=settings.mlops_header_timeout_seconds,
            max_connections=settings.mlops_max_connections,
        )


class BodyRefused(Exception):
    """A body that is too large, too slow or incomplete; ``response`` says which, and closes."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason

    def response(self, *, as_json: bool) -> Response:
        # Starlette is imported by the ASGI paths that use it, not by the Lambda runtime's start.
        from starlette.responses import JSONResponse, PlainTextResponse

        if as_json:
            return JSONResponse({"ok": False, "error": self.reason}, status_code=self.status, headers=CLOSE)
        return PlainTextResponse(self.reason, status_code=self.status, headers=CLOSE)


def too_large(limit: int) -> BodyRefused:
    return BodyRefused(413, f"request body exceeds {limit} bytes")


async def read_body(request: Request, limits: Limits) -> bytes:
    """The request body, read chunk by chunk; raises ``BodyRefused`` past the cap or the timeout."""
    import anyio
    from starlette.requests import ClientDisconnect

    limit = limits.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)  # said so up front: nothing needs to be read
    received = bytearray()
    try:
        with anyio.fail_after(limits.body_timeout_seconds):
            async for chunk in request.stream():
                if len(received) + len(chunk) > limit:
                    raise too_large(limit)
                received += chunk
    except TimeoutError:
        raise BodyRefused(
            408, f"the request body did not arrive within {limits.body_timeout_seconds:g} s"
        ) from None
    except ClientDisconnect:
        raise BodyRefused(400, "the connection closed before the request body was complete") from None
    return bytes(received)


def decoded_lambda_body(event: Mapping[str, Any], limit: int) -> bytes:
    """The body of an API Gateway / function URL event, its size checked before and after decoding.

    API Gateway and function URLs bound a request (10 MB and 6 MB), but a body under those bounds
    can still be far above what any route accepts: it is refused before it is decoded or signed.
    """
    body = event.get("body") or ""
    if not isinstance(body, str):
        raise BodyRefused(400, "the event body must be a string")
    if not event.get("isBase64Encoded"):
        if len(body) > limit and len(body.encode("utf-8")) > limit:
            raise too_large(limit)
        return body.encode("utf-8")
    if len(body) > (limit + 2) // 3 * 4 + 4:  # base64 of ``limit`` bytes, plus padding slack
        raise too_large(limit)
    try:
        raw = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise BodyRefused(400, "the event body is not valid base64") from None
    if len(raw) > limit:
        raise too_large(limit)
    return raw
