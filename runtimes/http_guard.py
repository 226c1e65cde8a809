"""Connection limits of the HTTP runtime: header timeout, connection count, unread bodies.

uvicorn bounds the size of request headers (h11) and idle keep-alive connections, but not the time
a client may take to send its headers, nor how many half-open connections it may hold. The
protocol here closes a connection whose request headers are not complete within the header timeout,
and refuses connections beyond ``max_connections`` at once. ``CloseUnreadBodies`` closes the
connection after any answer given before a large request body was read (a 401 before an
unauthenticated body, a 404), rather than letting the server drain a body nobody wants; the rest of a
small one is read first, so that the answer is not lost to a reset.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any, ClassVar

import h11
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.limits import Limits

log = logging.getLogger(__name__)

__all__ = ["BACKLOG", "MAX_HEADER_BYTES", "CloseUnreadBodies", "guarded_protocol", "uvicorn_config"]

#: Request line and headers together; Slack's and GitHub's are a few KB.
MAX_HEADER_BYTES = 16 * 1024
#: Connections the kernel queues before the server accepts them.
BACKLOG = 1024
#: Idle time allowed between two requests on one connection.
KEEP_ALIVE_SECONDS = 5


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on request headers and a cap on open connections."""

    limits: ClassVar[Limits] = Limits()
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        _send_without_delay(transport)
        if len(self.connections) > self.limits.max_connections:
            log.debug("refusing a connection: %d are open", len(self.connections))
            transport.close()
            return
        self._watch()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_deadline()
        super().connection_lost(exc)

    def _watch(self) -> None:
        """Arm the deadline while headers are awaited (or a body nobody reads); disarm otherwise."""
        if self.transport.is_closing():
            self._stop_deadline()
            return
        waiting_for_headers = self.conn.their_state is h11.IDLE
        unread_body = self.conn.our_state is h11.DONE and self.conn.their_state is h11.SEND_BODY
        if not (waiting_for_headers or unread_body):
            self._stop_deadline()
        elif self._deadline is None:  # a deadline, not an idle timer: trickling bytes do not extend it
            self._deadline = self.loop.call_later(self.limits.header_timeout_seconds, self._expired)

    def _stop_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            log.debug(
                "closing a connection: request incomplete after %s s", self.limits.header_timeout_seconds
            )
            self.transport.close()


def _send_without_delay(transport: asyncio.BaseTransport) -> None:
    """Turn Nagle's algorithm off on an accepted TCP connection.

    An answer with a body leaves as two writes (status and headers, then the body): with Nagle on, the
    kernel holds the body until the client acknowledges the headers, and the client's delayed ACK
    holds that for up to 40 ms, on every ack Slack waits for. asyncio turns it off only on sockets
    it creates itself with the TCP protocol number, not on one handed to the server (``--fd``,
    systemd, ``Server.run(sockets=...)``).
    """
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def guarded_protocol(limits: Limits) -> type[GuardedH11Protocol]:
    """The protocol class for ``uvicorn.Config(http=...)``, bound to ``limits``."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"limits": limits})


#: An answer given before a small body was read (a 401 of a webhook) reads the rest of it first, at most
#: this much and for this long: closing a connection with unread bytes makes the kernel reset it, and
#: the client may then lose the answer.
DRAIN_MAX_BYTES = 64 * 1024
DRAIN_SECONDS = 2.0


class CloseUnreadBodies:
    """ASGI middleware: an answer sent before the request body was fully read closes the connection.

    A small declared body (``DRAIN_MAX_BYTES``) is read to its end first, so that the client gets the
    answer on a connection that stays usable; a larger or unbounded one is never read.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _declared_length(scope)
        complete = length == 0

        async def tracking_receive() -> Message:
            nonlocal complete
            message = await receive()
            if message["type"] == "http.disconnect" or (
                message["type"] == "http.request" and not message.get("more_body", False)
            ):
                complete = True
            return message

        async def drain() -> None:
            read = 0
            while not complete and read <= DRAIN_MAX_BYTES:
                message = await tracking_receive()
                read += len(message.get("body", b""))

        async def closing_send(message: Message) -> None:
            if message["type"] == "http.response.start" and not complete:
                if length is not None and length <= DRAIN_MAX_BYTES:
                    try:
                        await asyncio.wait_for(drain(), DRAIN_SECONDS)
                    except TimeoutError:
                        log.debug("closing a connection: the rest of a refused body did not arrive")
                if not complete:
                    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
                    message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, tracking_receive, closing_send)


def _declared_length(scope: Scope) -> int | None:
    """The body's declared length: 0 for none, None when chunked or unreadable (never drained)."""
    length = 0
    for name, value in scope.get("headers", []):
        if name == b"transfer-encoding":
            return None
        if name == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                return None
    return length


def uvicorn_config(asgi: Any, limits: Limits, *, host: str, port: int, **options: Any) -> Any:
    """The ``uvicorn.Config`` of the HTTP runtime, with every limit applied."""
    import uvicorn

    return uvicorn.Config(
        asgi,
        host=host,
        port=port,
        http=guarded_protocol(limits),
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        limit_concurrency=limits.max_connections + 1,  # uvicorn answers 503 from this many on
        backlog=BACKLOG,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        **options,
    )
