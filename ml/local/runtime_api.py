"""The local endpoint host's HTTP server: SageMaker's runtime API and the container's own routes.

What each invocation answers is ``ml.local.runtime_answers``'. The server calls the container in the
request's own thread, and one watchdog (``ml.local.deadlines``) answers the requests whose model
outlives SageMaker's time limit.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from ml.threaded_server import ThreadedServer

from .capture import CaptureWriter
from .container import Container
from .deadlines import Ticket, Watchdog
from .http_head import StrictHeadHandler, response_head
from .runtime_answers import (
    INVOCATION_TIMEOUT_S,
    MAX_PAYLOAD_BYTES,
    VARIANT,
    Answer,
    container_answer,
    endpoint_not_found,
    json_error,
    payload_too_large,
    timed_out,
)

log = logging.getLogger(__name__)

_READ_CHUNK = 64 * 1024
#: answers up to this size go out in the same write as their head (one send, not two)
_ONE_WRITE = 64 * 1024


class Served(Protocol):
    @property
    def version(self) -> int: ...

    @property
    def container(self) -> Container: ...


class EndpointSource(Protocol):
    """What the server asks of whoever decides which model each endpoint serves."""

    region: str
    account: str

    def serving(self, name: str) -> Served | None: ...

    def served_names(self) -> list[str]: ...

    def status(self) -> dict[str, Any]: ...


class Router(Protocol):
    """Weighted variants behind an endpoint (the local endpoint host): routes, fails on purpose, counts."""

    def invoke(self, name: str, call: Callable[[Container, str], Answer]) -> tuple[Answer, int] | None:
        """Answer one invocation of ``name`` through ``call(container, variant name)``; the answer and the
        version that gave it, or None when ``name`` is not served."""
        ...

    def sync(self) -> None:
        """Serve what the state database says now (``POST /sync``: a nudge after a change)."""
        ...


class RuntimeServer(ThreadedServer):
    """``POST /endpoints/{name}/invocations`` (the runtime API), ``/invocations`` and ``/ping`` (the
    container's own routes; with several endpoints name one in ``X-Endpoint``), ``GET /endpoints`` and,
    with a ``router``, ``POST /sync``."""

    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        source: EndpointSource,
        *,
        invocation_timeout: float = INVOCATION_TIMEOUT_S,
        capture: CaptureWriter | None = None,
        router: Router | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``monotonic``: the time the invocation deadlines are kept on."""
        self.source = source
        #: routes runtime invocations between variants (None: each endpoint's one container answers)
        self.router = router
        #: where successful runtime API invocations are offered for data capture (None: no capture)
        self.capture = capture
        self.invocation_timeout = invocation_timeout
        self.watchdog = Watchdog(monotonic)
        super().__init__(address, _Handler)

    def server_close(self) -> None:
        super().server_close()
        self.watchdog.stop()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The stdlib prints tracebacks to stderr; clients dropping keep-alive connections are routine.
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            log.debug("connection from %s dropped: %r", client_address, error)
        else:
            log.exception("endpoint host: request from %s failed", client_address)


class _Handler(StrictHeadHandler):
    protocol_version = "HTTP/1.1"
    # A large body goes out in a second write: with Nagle's algorithm on, the client's delayed ACK
    # would add ~40 ms to such an answer.
    disable_nagle_algorithm = True
    server: RuntimeServer

    def log_message(self, format: str, *args: Any) -> None:
        if log.isEnabledFor(logging.DEBUG):  # called for every answer: format only what is logged
            log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        source = self.server.source
        if path == "/ping":
            served = self._container_target()
            if served is None:
                return
            response = served.container.ping()
            self._send(Answer(response.status, response.body, _type(response.content_type)))
        elif path == "/endpoints":
            self._send(
                Answer(200, json.dumps(source.status()).encode(), {"Content-Type": "application/json"})
            )
        else:
            self._send(json_error(404, None, {"message": f"no route for GET {path}"}))

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        parts = [unquote(p) for p in path.split("/") if p]
        body = self._read_body()
        if body is None:
            return
        if len(parts) == 3 and parts[0] == "endpoints" and parts[2] == "invocations":
            self._invoke(parts[1], body)
        elif parts == ["sync"] and self.server.router is not None:
            self.server.router.sync()
            status = json.dumps(self.server.source.status()).encode()
            self._send(Answer(200, status, {"Content-Type": "application/json"}))
        elif parts == ["invocations"]:
            served = self._container_target()
            if served is not None:
                response = served.container.invoke(
                    body, self.fields.get("Content-Type"), self.fields.get("Accept")
                )
                headers = _type(response.content_type)
                headers["X-Model-Version"] = str(served.version)
                self._send(Answer(response.status, response.body, headers))
        else:
            self._send(json_error(404, None, {"message": f"no route for POST {path}"}))

    def _invoke(self, name: str, body: bytes) -> None:
        source, router, watchdog = self.server.source, self.server.router, self.server.watchdog
        variant = VARIANT
        ticket: Ticket | None = None

        def call(container: Container, variant_name: str) -> Answer:
            nonlocal variant, ticket
            variant = variant_name
            ticket = watchdog.watch(
                self.server.invocation_timeout,
                lambda: self._send_closing(timed_out(name, region=source.region, account=source.account)),
            )
            try:
                return container_answer(
                    container,
                    name,
                    body,
                    self.fields.get("Content-Type"),
                    self.fields.get("Accept"),
                    region=source.region,
                    account=source.account,
                    variant=variant_name,
                    in_time=ticket.settle,
                )
            finally:
                watchdog.forget(ticket)

        if router is not None:
            routed = router.invoke(name, call)
        else:
            served = source.serving(name)
            routed = None if served is None else (call(served.container, VARIANT), served.version)
        if routed is None:
            self._send(endpoint_not_found(name, source.account))
            return
        answer, version = routed
        if ticket is not None and ticket.expired:
            # The watchdog answered (and closes the connection): the model's late answer is dropped.
            log.info("endpoint %s: dropped an answer that came after the time limit", name)
            return
        if answer.status == 200:
            answer.headers["X-Model-Version"] = str(version)
        if answer.status == 200 and self.server.capture is not None:
            # Queued before the answer goes out, so that whoever got the answer can wait for its record
            # (flush); offer() only samples and queues, it never blocks. Refused and failed invocations
            # are not captured: SageMaker documents capture of inference requests and their predictions,
            # and a record has no status to tell an error body from a prediction.
            self.server.capture.offer(
                name,
                variant,
                body,
                self.fields.get("Content-Type"),
                answer.body,
                answer.headers.get("Content-Type"),
            )
        self._send(answer)

    def _container_target(self) -> Served | None:
        source = self.server.source
        name = self.fields.get("X-Endpoint")
        if name is None:
            served_names = source.served_names()
            if len(served_names) != 1:
                listing = ", ".join(served_names) or "none"
                message = f"name the endpoint in the X-Endpoint header (served here: {listing})"
                self._send(Answer(400, message.encode(), {"Content-Type": "text/plain; charset=utf-8"}))
                return None
            name = served_names[0]
        served = source.serving(name)
        if served is None:
            refusal = f"endpoint {name} is not served here".encode()
            self._send(Answer(503, refusal, {"Content-Type": "text/plain; charset=utf-8"}))
        return served

    def _read_body(self) -> bytes | None:
        """The body, read in chunks up to the limit; None (answered) when refused before reading."""
        if "chunked" in self.fields.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._send(json_error(411, None, {"message": "a Content-Length header is required"}))
            return None
        header = self.fields.get("Content-Length", "0")
        try:
            length = int(header)
            if length < 0:
                raise ValueError(header)
        except ValueError:
            self.close_connection = True
            self._send(json_error(400, None, {"message": f"bad Content-Length {header!r}"}))
            return None
        if length > MAX_PAYLOAD_BYTES:
            self.close_connection = True  # the unread body must not be taken for the next request
            self._send(payload_too_large())
            return None
        chunks: list[bytes] = []
        remaining = length
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, _READ_CHUNK))
            if not chunk:
                self.close_connection = True
                return None  # the client went away mid-body
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def _send_closing(self, answer: Answer) -> None:
        """Answer from another thread while this one waits for its model: the connection then ends, as
        the request's thread still has to finish before it could read the next request."""
        self.close_connection = True
        self._send(answer)

    def _send(self, answer: Answer) -> None:
        body = answer.body
        self.log_request(answer.status)
        head = response_head(self, answer.status, answer.headers, len(body))
        if len(body) <= _ONE_WRITE:
            self.wfile.write(head + body)
        else:
            self.wfile.write(head)
            self.wfile.write(body)


def _type(content_type: str | None) -> dict[str, str]:
    return {"Content-Type": content_type} if content_type else {}
