"""HTTP/1.x heads for the endpoint host's server: a lean, strict request reader, and response heads
written in one piece.

``http.server`` hands the header block to the ``email`` package's parser, which cost the host about as
much CPU as the rest of a request's HTTP handling. ``StrictHeadHandler`` reads the request line as
``http.server`` does (same checks, same error answers) and the header lines itself, with bounded
``readline`` calls and the stdlib's limits: a line over 65,536 bytes or more than 100 header lines is
refused with 431, as ``http.server`` refuses them. It is stricter where leniency lets a request be read
two ways: a header line without a colon, with whitespace before the colon, folded onto the next line,
or a second ``Content-Length`` is refused with 400 (RFC 9112, sections 5.1, 5.2 and 6.3).

``response_head`` is the head ``send_response``, ``send_header`` and ``end_headers`` would write (status
line, ``Server``, ``Date``, the answer's fields), built as one string with the date worked out once a
second, so that a small answer goes out in one write.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import overload

#: ``http.client``'s bounds (``_MAXLINE``, ``_MAXHEADERS``) on one header line and on the number of lines.
MAX_LINE = 65536
MAX_HEADERS = 100
_UNIQUE = ("content-length", "transfer-encoding")


class Headers:
    """A request's header fields by case-insensitive name; the first of repeated fields is kept."""

    __slots__ = ("_fields",)

    def __init__(self, fields: dict[str, str] | None = None) -> None:
        self._fields = fields or {}

    @overload
    def get(self, name: str) -> str | None: ...

    @overload
    def get(self, name: str, default: str) -> str: ...

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._fields.get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._fields

    def __len__(self) -> int:
        return len(self._fields)


class BadHead(Exception):
    """The header block cannot be read one way only: refused with ``status``."""

    def __init__(self, status: HTTPStatus, message: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.message, self.detail = status, message, detail


def read_headers(read: Callable[[int], bytes]) -> Headers:
    """Header lines up to the blank line, through ``read(limit)`` (a bounded readline); raises ``BadHead``."""
    fields: dict[str, str] = {}
    count = 0
    while True:
        raw = read(MAX_LINE + 1)
        if len(raw) > MAX_LINE:
            raise BadHead(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long", "header line")
        if raw in (b"\r\n", b"\n", b""):
            return Headers(fields)
        count += 1
        if count > MAX_HEADERS:
            raise BadHead(
                HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers", f"got more than {MAX_HEADERS}"
            )
        text = raw.decode("iso-8859-1").rstrip("\r\n")
        name, colon, value = text.partition(":")
        if not colon or not name or name != name.strip() or " " in name or "\t" in name:
            # also a folded line, which starts with whitespace
            raise BadHead(HTTPStatus.BAD_REQUEST, "Bad header line", repr(text[:100]))
        key = name.lower()
        if key in fields:
            if key in _UNIQUE:
                raise BadHead(HTTPStatus.BAD_REQUEST, "Bad header line", f"a second {name} header")
            continue
        fields[key] = value.strip(" \t")


class StrictHeadHandler(BaseHTTPRequestHandler):
    """``BaseHTTPRequestHandler`` whose header fields are read by ``read_headers`` into ``fields``."""

    fields: Headers = Headers()
    raw_requestline: bytes  # read by ``handle_one_request`` before ``parse_request``

    def parse_request(self) -> bool:
        self.command = None  # type: ignore[assignment]  # as the stdlib: no command until the line is read
        self.request_version = self.default_request_version
        self.close_connection = True
        requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        self.requestline = requestline
        words = requestline.split()
        if not words:
            return False
        if len(words) != 3:
            # HTTP/0.9's two-word GET included: the runtime API is HTTP/1.x only
            self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request syntax ({requestline!r})")
            return False
        command, path, version = words
        number = _version(version)
        if number is None:
            self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request version ({version!r})")
            return False
        if number >= (2, 0):
            self.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, f"Invalid HTTP version ({version[5:]})")
            return False
        self.close_connection = not (number >= (1, 1) and self.protocol_version >= "HTTP/1.1")
        self.request_version = version
        self.command = command
        self.path = "/" + path.lstrip("/") if path.startswith("//") else path
        try:
            self.fields = read_headers(self.rfile.readline)
        except BadHead as bad:
            self.send_error(bad.status, bad.message, bad.detail)
            return False
        connection = (self.fields.get("Connection") or "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive" and self.protocol_version >= "HTTP/1.1":
            self.close_connection = False
        expect = (self.fields.get("Expect") or "").lower()
        if expect == "100-continue" and self.protocol_version >= "HTTP/1.1" and number >= (1, 1):
            return self.handle_expect_100()
        return True


def _version(word: str) -> tuple[int, int] | None:
    """``(1, 1)`` of ``HTTP/1.1``; None unless ``HTTP/<digits>.<digits>`` (each at most 10 digits)."""
    if not word.startswith("HTTP/"):
        return None
    parts = word[5:].split(".")
    if len(parts) != 2 or not all(p.isdigit() and len(p) <= 10 for p in parts):
        return None
    return int(parts[0]), int(parts[1])


class _HttpDate:
    """``BaseHTTPRequestHandler.date_time_string()``, formatted once per second."""

    def __init__(self) -> None:
        self._cached = (-1, "")  # replaced whole: threads read it without a lock

    def __call__(self, now: float) -> str:
        second = int(now)
        cached = self._cached
        if cached[0] != second:
            cached = (second, email.utils.formatdate(second, usegmt=True))
            self._cached = cached
        return cached[1]


http_date = _HttpDate()


def response_head(
    handler: BaseHTTPRequestHandler,
    status: int,
    fields: Mapping[str, str],
    length: int,
    *,
    now: Callable[[], float] = time.time,
) -> bytes:
    """The head of an answer of ``length`` bytes; ``Connection: close`` when the handler closes after it."""
    reason = handler.responses[status][0] if status in handler.responses else ""
    lines = [
        f"{handler.protocol_version} {status} {reason}",
        f"Server: {handler.version_string()}",
        f"Date: {http_date(now())}",
        *(f"{key}: {value}" for key, value in fields.items()),
        f"Content-Length: {length}",
    ]
    if handler.close_connection:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "strict")
