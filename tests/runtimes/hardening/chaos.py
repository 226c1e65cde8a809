"""An unreliable network in front of LocalSlack: rate limits, timeouts and dropped connections.

``ChaosProxy`` forwards Web API calls to LocalSlack. A seeded share of calls never reaches it:
the proxy answers 429 (``Retry-After: 0``), or holds the request until the client times out and
closes the connection, or closes it at once. Nothing a faulted call asked for happens, as with
a request lost on its way to Slack; LocalSlack's own ``set_error_rate`` adds 5xx on top.
"""

from __future__ import annotations

import http.client
import json
import random
import select
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from ml.threaded_server import ThreadedServer

KINDS = ("ratelimit", "timeout", "drop")


class ChaosProxy:
    def __init__(
        self,
        upstream: str,
        *,
        rate: float,
        hold_seconds: float,
        seed: int = 0,
        first: tuple[str, ...] = KINDS,
    ) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.rate = rate
        self.hold_seconds = hold_seconds
        self.injected: Counter[str] = Counter()
        self.forwarded = 0
        self._rng = random.Random(seed)
        self._turn = 0
        #: faults of the first calls, so that every kind occurs whatever the seed
        self._first = list(first)
        self._lock = threading.Lock()
        self._server = ThreadedServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> ChaosProxy:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/"

    def _fault(self) -> str | None:
        """The fault for the next call, if any: kinds take turns so each one shows up."""
        with self._lock:
            if self._first and self.rate > 0:
                kind = self._first.pop(0)
                self.injected[kind] += 1
                return kind
            if self.rate <= 0 or self._rng.random() >= self.rate:
                return None
            kind = KINDS[self._turn % len(KINDS)]
            self._turn += 1
            self.injected[kind] += 1
            return kind

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fault = proxy._fault()
                if fault == "ratelimit":
                    data = json.dumps({"ok": False, "error": "ratelimited"}).encode()
                    self.send_response(429)
                    self.send_header("Retry-After", "0")
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if fault is not None:
                    if fault == "timeout":
                        # Held until the client gives up: its socket turns readable (EOF) when it
                        # closes the connection after its read timeout.
                        select.select([self.connection], [], [], proxy.hold_seconds)
                    self.close_connection = True
                    return  # no response at all: the client sees a timeout or a reset
                conn = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=30)
                try:
                    headers = {
                        k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")
                    }
                    conn.request("POST", self.path, body=body, headers=headers)
                    upstream = conn.getresponse()
                    data = upstream.read()
                    with proxy._lock:
                        proxy.forwarded += 1
                    self.send_response(upstream.status)
                    for name, value in upstream.getheaders():
                        if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    conn.close()

        return Handler
