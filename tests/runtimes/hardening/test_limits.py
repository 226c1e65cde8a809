"""Size, time and connection limits, attacked as an outsider would, over real HTTP and on Lambda.

The server is the HTTP runtime as ``mlops-bot serve`` runs it (``uvicorn_config``), with small
limits so that the attacks are quick. A counting wrapper around the ASGI app records how many body
bytes reached the application, which is what the body cap bounds; the attacking client counts what
it managed to send before the server answered or hung up.
"""

from __future__ import annotations

import http.client
import logging
import select
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bench.body_cap import MIB, flood
from bot.limits import Limits
from bot.store.sqlite import SQLiteStore
from runtimes import lambda_handler
from tests.conftest import Closer
from tests.runtimes.hardening.conftest import Bench, asgi_of, bench_settings, http_server, make_bench
from tests.runtimes.test_lambda_handler import Context, FakeLambda, v2_event

CAP = 64 * 1024
#: What uvicorn may hand the application in one piece past the cap (its buffer, one socket read).
ONE_READ = 512 * 1024
ATTACK = 300 * MIB
#: Far below the attack: what sits in socket buffers when the server stops reading.
IN_FLIGHT = 64 * MIB
#: Generous: the server must have hung up long before; never the measure of a pass.
DEADLINE = 30.0


class ReadCounter:
    """ASGI wrapper counting, per path, the body bytes and requests that reached the application."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.bytes: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        self.requests[path] += 1

        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.bytes[path] += len(message.get("body", b""))
            return message

        await self.app(scope, counted, send)


@dataclass
class Served:
    bench: Bench
    counter: ReadCounter
    host: str
    port: int

    def connect(self) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout=DEADLINE)


@pytest.fixture
def serve(tmp_path: Path, close_later: Closer) -> Iterator[Callable[..., Served]]:
    """Start the HTTP runtime on an empty local platform with the given limits."""
    with ExitStack() as stack:

        def start(**limits: Any) -> Served:
            settings = {"mlops_max_body_bytes": CAP, **limits}
            bench = make_bench(tmp_path / "home", **settings)
            stack.callback(bench.close, close_later)
            counter = ReadCounter(asgi_of(bench))
            url = stack.enter_context(http_server(counter, Limits.from_settings(bench.services.settings)))
            host, port = url.removeprefix("http://").split(":")
            return Served(bench, counter, host, int(port))

        yield start


@pytest.fixture
def no_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.WARNING)
    yield
    errors = [f"{r.name}: {r.getMessage()[:200]}" for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


def closed_by_server(sock: socket.socket, deadline: float = DEADLINE) -> bytes:
    """Everything the server sends until it closes the connection (fails if it never does)."""
    sock.settimeout(deadline)
    received = b""
    try:
        while data := sock.recv(65536):
            received += data
    except ConnectionResetError:
        pass
    except TimeoutError:
        raise AssertionError(f"the server kept the connection open; it sent {received[:200]!r}") from None
    return received


# -- bodies ------------------------------------------------------------------------------------------------

ROUTES = {  # path -> status of an unauthenticated 300 MB chunked POST
    "/slack/events": 413,  # signatures cover the body: it is read (capped) first
    "/github/webhook": 413,
    "/events/eventbridge": 401,  # a bearer token is checked before any byte of body is read
    "/ci/report": 401,
}


@pytest.mark.parametrize("path", list(ROUTES))
def test_an_unauthenticated_300_mb_chunked_body_is_cut_off_at_the_cap(
    serve: Callable[..., Served], no_errors: None, path: str
) -> None:
    served = serve()
    attack = flood(served.host, served.port, path, total=ATTACK, timeout=DEADLINE * 2)
    assert attack.status == ROUTES[path], attack.response[:300]
    assert attack.closed, "the server must hang up rather than drain the rest"
    assert attack.sent < IN_FLIGHT, f"the server went on reading: {attack.sent} bytes sent"
    assert served.counter.bytes[path] <= CAP + ONE_READ
    if ROUTES[path] == 413:
        assert served.counter.bytes[path] > CAP  # it read up to the cap, then stopped
        assert f"exceeds {CAP} bytes".encode() in attack.response


def test_an_authenticated_but_oversized_body_is_cut_off_too(serve: Callable[..., Served]) -> None:
    served = serve()
    token = served.bench.secrets.events_token
    attack = flood(
        served.host, served.port, "/events/eventbridge", headers={"Authorization": f"Bearer {token}"}
    )
    assert (attack.status, attack.closed) == (413, True)
    assert attack.sent < IN_FLIGHT and served.counter.bytes["/events/eventbridge"] <= CAP + ONE_READ


def test_a_declared_length_over_the_cap_is_refused_without_reading(serve: Callable[..., Served]) -> None:
    served = serve()
    attack = flood(served.host, served.port, "/github/webhook", declared_length=ATTACK, total=ATTACK)
    assert (attack.status, attack.closed) == (413, True)
    assert served.counter.bytes["/github/webhook"] == 0


def test_a_content_length_shorter_than_the_body_ends_the_connection(
    serve: Callable[..., Served], no_errors: None
) -> None:
    """The first 100 bytes are the request; the rest is not HTTP, and the server hangs up."""
    served = serve()
    attack = flood(served.host, served.port, "/slack/events", declared_length=100, total=ATTACK)
    assert attack.status == 401  # the 100 bytes, unsigned
    assert attack.closed and attack.sent < IN_FLIGHT
    assert served.counter.bytes["/slack/events"] == 100
    assert served.counter.requests["/slack/events"] == 1


def test_a_slow_body_is_refused_after_the_body_timeout(serve: Callable[..., Served], no_errors: None) -> None:
    served = serve(mlops_body_timeout_seconds=0.5)
    sock = served.connect()
    sock.sendall(b"POST /github/webhook HTTP/1.1\r\nHost: bot\r\nTransfer-Encoding: chunked\r\n\r\n")
    # One byte at a time, each well within any idle timeout: only a deadline on the whole body ends it.
    deadline = time.monotonic() + DEADLINE
    trickled = 0
    while time.monotonic() < deadline:
        readable, _, _ = select.select([sock], [], [], 0.05)
        if readable:
            break
        sock.sendall(b"1\r\nx\r\n")
        trickled += 1
    answer = closed_by_server(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b"did not arrive within 0.5 s" in answer and trickled > 1
    assert served.counter.bytes["/github/webhook"] < trickled + 1


def test_a_lying_content_length_over_a_short_body_times_out(serve: Callable[..., Served]) -> None:
    served = serve(mlops_body_timeout_seconds=0.5)
    sock = served.connect()
    sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Length: 1000\r\n\r\ncommand=x")
    answer = closed_by_server(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]


def _exchange(sock: socket.socket, request: bytes) -> http.client.HTTPResponse:
    sock.sendall(request)
    response = http.client.HTTPResponse(sock)
    response.begin()
    response.read()
    return response


def test_a_small_body_refused_before_it_was_read_is_answered_on_a_usable_connection(
    serve: Callable[..., Served], no_errors: None
) -> None:
    """A bearer token checked before the body: the rest of a small body is read, then answered. Closing
    with unread bytes would make the kernel reset the connection, and the client could lose the 401."""
    served = serve()
    body = b'{"detail-type": "x"}' * 150  # 3 KB, all sent before the answer
    request = (
        b"POST /events/eventbridge HTTP/1.1\r\nHost: bot\r\nAuthorization: Bearer wrong\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    with served.connect() as sock:
        for _ in range(3):  # one connection: it stays open after each refusal
            response = _exchange(sock, request)
            assert response.status == 401 and response.getheader("connection") != "close"
    assert served.counter.requests["/events/eventbridge"] == 3
    assert served.counter.bytes["/events/eventbridge"] == 3 * len(body)


def test_a_larger_body_refused_before_it_was_read_is_not_read(serve: Callable[..., Served]) -> None:
    served = serve()
    declared = 100 * 1024  # over what is read to answer on an open connection
    with served.connect() as sock:
        head = b"POST /events/eventbridge HTTP/1.1\r\nHost: bot\r\nAuthorization: Bearer wrong\r\n"
        response = _exchange(sock, head + f"Content-Length: {declared}\r\n\r\n".encode() + b"x" * 1024)
        assert response.status == 401 and response.getheader("connection") == "close"
    assert served.counter.bytes["/events/eventbridge"] == 0


# -- headers and connections -----------------------------------------------------------------------------


def test_slow_loris_headers_are_closed_after_the_header_timeout(
    serve: Callable[..., Served], no_errors: None
) -> None:
    served = serve(mlops_header_timeout_seconds=0.5)
    sock = served.connect()
    sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: bot\r\n")
    deadline = time.monotonic() + DEADLINE
    sent = 0
    while time.monotonic() < deadline:  # a header line at a time, never finishing the request
        readable, _, _ = select.select([sock], [], [], 0.05)
        if readable:
            break
        try:
            sock.sendall(b"X-Pad-%d: y\r\n" % sent)
        except (BrokenPipeError, ConnectionResetError):
            break
        sent += 1
    assert closed_by_server(sock) == b""  # closed without a word
    assert sent > 1
    assert served.counter.requests["/slack/events"] == 0


def test_connections_beyond_the_limit_are_closed_at_once(serve: Callable[..., Served]) -> None:
    served = serve(mlops_max_connections=4, mlops_header_timeout_seconds=120)
    held = []
    for _ in range(7):
        sock = served.connect()
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # half a request, held open
        held.append(sock)
    kept, extra = held[:4], held[4:]
    for sock in extra:
        assert closed_by_server(sock) == b""
    for sock in kept:  # the first four are still being waited for
        readable, _, _ = select.select([sock], [], [], 0)
        assert readable == []
    for sock in held:
        sock.close()

    def healthy() -> bool:
        try:
            return httpx.get(f"http://{served.host}:{served.port}/healthz", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    deadline = time.monotonic() + DEADLINE
    while not healthy():  # once the server has seen the four close, it serves again
        assert time.monotonic() < deadline, "the server did not serve again"
        select.select([], [], [], 0.05)


def test_oversized_headers_are_refused(serve: Callable[..., Served]) -> None:
    served = serve()
    sock = served.connect()
    sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nX-Big: " + b"a" * (64 * 1024))
    answer = closed_by_server(sock)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]


# -- Lambda ---------------------------------------------------------------------------------------------


@pytest.fixture
def lambda_rt(tmp_path: Path, close_later: Closer) -> Iterator[lambda_handler.LambdaRuntime]:
    bench = make_bench(tmp_path / "bench")
    settings = bench_settings(
        bench.secrets, bench.slack, tmp_path / "lambda", mlops_store="dynamodb", mlops_max_body_bytes=CAP
    )
    from bot.services import build_services

    services = build_services(settings, store=SQLiteStore(tmp_path / "lambda.db"))
    rt = lambda_handler.build_runtime(
        settings, services=services, client=bench.slack.web_client(), lambda_client=FakeLambda()
    )
    previous = lambda_handler.set_runtime(rt)
    try:
        yield rt
    finally:
        lambda_handler.set_runtime(previous)
        close_later(rt.close)
        bench.close(close_later)


@pytest.mark.parametrize("path", ["/slack/events", "/github/webhook", "/events/eventbridge", "/ci/report"])
@pytest.mark.parametrize("encoded", [True, False])
def test_lambda_refuses_an_oversized_body_before_decoding_or_verifying_it(
    lambda_rt: lambda_handler.LambdaRuntime, no_errors: None, path: str, encoded: bool
) -> None:
    body = "payload=" + "x" * CAP  # just over the cap
    event = v2_event(path, body, {"content-type": "application/x-www-form-urlencoded"}, b64=encoded)
    answer = lambda_handler.handler(event, Context())
    assert answer["statusCode"] == 413, answer
    assert f"exceeds {CAP} bytes" in answer["body"]


def test_lambda_refuses_a_body_that_is_not_base64(
    lambda_rt: lambda_handler.LambdaRuntime, no_errors: None
) -> None:
    event = v2_event("/slack/events", "%%%not base64%%%", {})
    event["isBase64Encoded"] = True
    answer = lambda_handler.handler(event, Context())
    assert answer["statusCode"] == 400 and "base64" in answer["body"]
