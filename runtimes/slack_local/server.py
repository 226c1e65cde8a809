"""The HTTP front of LocalSlack: ``/api/<method>`` for the Web API, ``/response/<key>`` for response URLs.

Like Slack, it takes form-encoded bodies and JSON bodies (``slack_sdk`` sends ``chat.postMessage``
and the other ``chat.*`` methods as JSON), query-string arguments, and the token as a Bearer header.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from ml.threaded_server import ThreadedServer
from runtimes.slack_local.files import MAX_UPLOAD_BYTES
from runtimes.slack_local.model import JSON

if TYPE_CHECKING:
    from runtimes.slack_local.local_slack import LocalSlack

log = logging.getLogger("runtimes.slack_local")

#: What a load balancer answers in front of a failing Slack: not JSON.
_BARE_ERROR = "<html><body><h1>Internal Server Error</h1></body></html>"


def serve(slack: LocalSlack, host: str, port: int) -> tuple[ThreadingHTTPServer, threading.Thread]:
    """Start serving ``slack`` on a daemon thread; returns the server and its thread."""
    server = ThreadedServer((host, port), _handler_for(slack))
    thread = threading.Thread(target=server.serve_forever, name="local-slack", daemon=True)
    thread.start()
    log.debug("local Slack API listening on %s:%s", *server.server_address[:2])
    return server, thread


def _handler_for(slack: LocalSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "LocalSlack/1.0"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("local slack: " + format, *args)

        def do_GET(self) -> None:
            with slack.in_flight():
                self._route()

        def do_POST(self) -> None:
            with slack.in_flight():
                self._route()

        def _route(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if parts.path.startswith("/upload/") and self.command == "POST":
                if length > MAX_UPLOAD_BYTES:  # refused before reading, as an upload service does
                    self.close_connection = True
                    self._send_text(413, "too_large")
                    return
                status = slack.receive_upload(parts.path[len("/upload/") :], self.rfile.read(length))
                self._send_text(status, "OK" if status == 200 else "upload_failed")
                return
            raw = self.rfile.read(length)
            if parts.path.startswith("/api/"):
                method = parts.path[len("/api/") :]
                args: JSON = dict(parse_qsl(parts.query))
                try:
                    args.update(self._body(raw))
                except ValueError:
                    self._send_json(200, {"ok": False, "error": "invalid_json"})
                    return
                reply = slack.handle_api(method, args, self.headers.get("Authorization"))
                if reply.drop:
                    self.close_connection = True
                    self.connection.close()
                elif reply.body is None:
                    self._send_text(reply.status, _BARE_ERROR, "text/html", reply.headers)
                else:
                    self._send_json(reply.status, reply.body, reply.headers)
            elif parts.path.startswith("/response/") and self.command == "POST":
                try:
                    payload = json.loads(raw or b"{}")
                    if not isinstance(payload, dict):
                        raise ValueError("payload must be an object")
                except ValueError:
                    self._send_text(400, "invalid_payload")
                    return
                status, text = slack.handle_response_url(parts.path[len("/response/") :], payload)
                self._send_text(status, text)
            else:
                self._send_text(404, "not_found")

        def _body(self, raw: bytes) -> JSON:
            if not raw:
                return {}
            ctype = self.headers.get("Content-Type", "")
            if "application/json" in ctype:
                doc = json.loads(raw)
                if not isinstance(doc, dict):
                    raise ValueError("JSON body must be an object")
                return doc
            return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))

        def _send_json(self, status: int, body: JSON, headers: Mapping[str, str] | None = None) -> None:
            self._send(status, json.dumps(body).encode(), "application/json", headers)

        def _send_text(
            self, status: int, text: str, kind: str = "text/plain", headers: Mapping[str, str] | None = None
        ) -> None:
            self._send(status, text.encode(), kind, headers)

        def _send(self, status: int, data: bytes, kind: str, headers: Mapping[str, str] | None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

    return Handler
