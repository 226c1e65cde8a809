"""The endpoint host's request head reader: the stdlib's limits and answers, stricter header lines."""

from __future__ import annotations

import email.utils
import io
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from ml.local.container import ContainerResponse
from ml.local.http_head import (
    MAX_HEADERS,
    MAX_LINE,
    BadHead,
    StrictHeadHandler,
    http_date,
    read_headers,
    response_head,
)
from ml.local.runtime_api import RuntimeServer
from tests.ml.local.runtime_fakes import Served


class _EchoContainer:
    """Answers with the content type and accept it was given, so a test sees what the host read."""

    mode = "script"

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> ContainerResponse:
        return ContainerResponse(200, f"{content_type}|{accept}|{body.decode()}".encode(), "text/plain")

    def ping(self) -> ContainerResponse:
        return ContainerResponse(200, b"", None)


class _Source:
    region, account = "us-east-1", "123456789012"

    def serving(self, name: str) -> Served | None:
        return Served(1, _EchoContainer()) if name == "echo" else None

    def served_names(self) -> list[str]:
        return ["echo"]

    def status(self) -> dict[str, Any]:
        return {"endpoints": {}}


@pytest.fixture
def port() -> Iterator[int]:
    server = RuntimeServer(("127.0.0.1", 0), _Source())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()
    thread.join(5)


def _exchange(port: int, request: bytes) -> bytes:
    """Everything the server sends until it closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _invocation(
    headers: str, body: bytes = b"1,2", *, line: str = "POST /endpoints/echo/invocations HTTP/1.1"
) -> bytes:
    return f"{line}\r\nHost: x\r\n{headers}Connection: close\r\n\r\n".encode() + body


def test_header_names_are_read_whatever_their_case(port: int) -> None:
    answer = _exchange(
        port, _invocation("content-TYPE: text/csv\r\nACCEPT:text/csv\r\ncontent-length: 3\r\n")
    )
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert answer.endswith(b"text/csv|text/csv|1,2")


def test_kept_alive_requests_are_read_one_after_another(port: int) -> None:
    one = b"POST /endpoints/echo/invocations HTTP/1.1\r\nHost: x\r\nContent-Type: a\r\n"
    one += b"Content-Length: 1\r\n\r\n1"
    answer = _exchange(port, one + one.replace(b"a\r", b"b\r") + _invocation("Content-Length: 1\r\n", b"3"))
    assert answer.count(b"HTTP/1.1 200") == 3
    assert b"a|None|1" in answer and b"b|None|1" in answer and b"None|None|3" in answer


@pytest.mark.parametrize(
    ("headers", "status", "fragment"),
    [
        (f"X-Big: {'a' * MAX_LINE}\r\n", b"431", b"Line too long"),
        ("".join(f"X-{i}: 1\r\n" for i in range(MAX_HEADERS + 1)), b"431", b"Too many headers"),
        ("Content-Length 3\r\n", b"400", b"Bad header line"),
        ("Content-Length : 3\r\n", b"400", b"Bad header line"),
        ("X-Folded: a\r\n b\r\n", b"400", b"Bad header line"),
        ("Content-Length: 3\r\nContent-Length: 30\r\n", b"400", b"a second Content-Length header"),
    ],
)
def test_a_bad_header_block_is_refused_and_the_connection_closed(
    port: int, headers: str, status: bytes, fragment: bytes
) -> None:
    answer = _exchange(port, _invocation(headers))
    assert answer.startswith(b"HTTP/1.1 " + status), answer[:200]
    assert fragment in answer
    assert b"Connection: close" in answer
    assert _exchange(port, _invocation("Content-Length: 3\r\n")).startswith(b"HTTP/1.1 200")  # still serves


@pytest.mark.parametrize(
    ("line", "status", "fragment"),
    [
        ("POST /endpoints/echo/invocations HTTP/2.0", b"505", b"Invalid HTTP version (2.0)"),
        ("POST /endpoints/echo/invocations HTTP/1.x", b"400", b"Bad request version"),
        ("POST /endpoints/echo/invocations", b"400", b"Bad request syntax"),
        ("POST / endpoints HTTP/1.1", b"400", b"Bad request syntax"),
    ],
)
def test_a_bad_request_line_gets_the_stdlib_answer(
    port: int, line: str, status: bytes, fragment: bytes
) -> None:
    answer = _exchange(port, _invocation("Content-Length: 3\r\n", line=line))
    # before a version is read the stdlib answers as to HTTP/0.9: the error page without a status line
    assert b"Error code: " + status in answer and fragment in answer, answer[:300]


def test_an_expect_100_continue_is_answered_before_the_body(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        head = "POST /endpoints/echo/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
        client.sendall(f"{head}Expect: 100-continue\r\nConnection: close\r\n\r\n".encode())
        assert client.recv(65536).startswith(b"HTTP/1.1 100 Continue")
        client.sendall(b"1,2")
        rest = b"".join(iter(lambda: client.recv(65536), b""))
    assert rest.startswith(b"HTTP/1.1 200") and rest.endswith(b"None|None|1,2")


def test_read_headers_keeps_the_first_of_repeated_fields_and_trims_values() -> None:
    block = b"Accept:  text/csv \r\naccept: application/json\r\nX-Empty:\r\n\r\nbody"
    stream = io.BytesIO(block)
    headers = read_headers(stream.readline)
    assert headers.get("ACCEPT") == "text/csv" and headers.get("x-empty") == ""
    assert "x-EMPTY" in headers and "Missing" not in headers and len(headers) == 2
    assert headers.get("Missing", "fallback") == "fallback"
    assert stream.read() == b"body"  # nothing past the blank line is read


def test_read_headers_stops_at_the_end_of_the_stream() -> None:
    assert len(read_headers(io.BytesIO(b"A: 1\r\n").readline)) == 1
    with pytest.raises(BadHead) as refused:
        read_headers(io.BytesIO(b"Transfer-Encoding: chunked\r\ntransfer-encoding: gzip\r\n\r\n").readline)
    assert refused.value.status == 400


NOON = 1_796_644_800.25  # 2026-12-07 12:00:00.25 UTC


class _Recorder(StrictHeadHandler):
    """A handler without a connection: what the stdlib's own response methods write goes to ``wfile``."""

    def __init__(self, close: bool) -> None:  # no socket: only what writing a head needs
        self.wfile = io.BytesIO()
        self.request_version = self.protocol_version = "HTTP/1.1"
        self.close_connection = close
        self.requestline, self.client_address = "POST / HTTP/1.1", ("127.0.0.1", 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        return email.utils.formatdate(NOON, usegmt=True)


@pytest.mark.parametrize(("status", "close"), [(200, False), (424, False), (413, True), (299, False)])
def test_a_response_head_is_what_the_stdlibs_methods_write(status: int, close: bool) -> None:
    fields = {"Content-Type": "text/csv; charset=utf-8", "x-Amzn-Invoked-Production-Variant": "AllTraffic"}
    stdlib = _Recorder(close)
    stdlib.send_response(status)
    for key, value in fields.items():
        stdlib.send_header(key, value)
    stdlib.send_header("Content-Length", "7")
    if close:
        stdlib.send_header("Connection", "close")
    stdlib.end_headers()
    assert response_head(_Recorder(close), status, fields, 7, now=lambda: NOON) == stdlib.wfile.getvalue()


def test_the_date_is_formatted_once_a_second() -> None:
    first = http_date(NOON)
    assert first == "Mon, 07 Dec 2026 12:00:00 GMT"
    assert http_date(NOON + 0.5) is first
    assert http_date(NOON + 1) == "Mon, 07 Dec 2026 12:00:01 GMT"
