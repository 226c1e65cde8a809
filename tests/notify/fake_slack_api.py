"""A recording Slack Web API on 127.0.0.1 with fault injection, for the notifier tests.

Serves ``auth.test``, ``chat.postMessage``, ``chat.update``, ``conversations.history`` and
``conversations.replies`` (message metadata only with ``include_all_metadata``) with Slack's JSON shapes
and error codes;
the app's ``slack_sdk.WebClient(base_url=fake.url)`` talks to it over real HTTP. Faults are queued per
method (``inject``), tied to a message's text (``refuse``) or drawn at random (``error_rate``):
HTTP 429 with ``Retry-After``, 5xx with a non-JSON body, a Slack error code, or a dropped connection
(``accept=True``: after doing what the call asked, as when the answer is lost on the way back).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

TOKEN = "xoxb-test-token"
BLOCK_TYPES = frozenset({"section", "header", "divider", "context", "actions", "image", "rich_text"})


@dataclass(frozen=True)
class Fault:
    status: int = 500
    error: str | None = None  # Slack error code in a JSON body; None sends a non-JSON body
    retry_after: int | None = None
    drop: bool = False  # close the connection without answering
    accept: bool = False  # with drop: the call takes effect, only its answer is lost


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    status: int
    error: str | None
    at: float


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None
    history: list[str] = field(default_factory=list)  # texts of every update, in order
    deleted: bool = False
    metadata: dict[str, Any] | None = None


class FakeSlackAPI:
    def __init__(
        self,
        *,
        channels: dict[str, str] | None = None,
        error_rate: float = 0.0,
        seed: int = 0,
        delay: float = 0.0,
    ) -> None:
        self.channels = channels or {"#mlops": "C0MLOPS", "#other": "C0OTHER"}
        self.error_rate = error_rate
        self.delay = delay
        self.calls: list[Call] = []
        self.messages: dict[str, Message] = {}  # by ts
        self._rng = random.Random(seed)
        self._faults: dict[str, list[Fault]] = {}
        self._refusals: list[tuple[str, Fault]] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._last_ts_us = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    # -- lifecycle ------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/api/"

    def start(self) -> FakeSlackAPI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- control and inspection -------------------------------------------------
    def inject(self, method: str, *faults: Fault) -> None:
        with self._lock:
            self._faults.setdefault(method, []).extend(faults)

    def refuse(self, text: str, fault: Fault) -> None:
        """Answer ``fault`` to every post or update whose text contains ``text``, for as long as it runs."""
        with self._lock:
            self._refusals.append((text, fault))

    def delete_message(self, ts: str) -> None:
        with self._lock:
            self.messages[ts].deleted = True

    def ok_calls(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method and c.status == 200 and c.error is None]

    def live_messages(self) -> list[Message]:
        """Messages in posting order."""
        with self._lock:
            return [m for m in self.messages.values() if not m.deleted]

    def by_text(self, text: str) -> list[Message]:
        return [m for m in self.live_messages() if m.text == text or text in m.history]

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
        return True

    # -- Web API ----------------------------------------------------------------
    def _answer(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, Any, Fault | None]:
        with self._changed:
            fault = None
            queue = self._faults.get(method)
            if queue:
                fault = queue.pop(0)
            elif method.startswith("chat."):
                text = str(params.get("text") or "")
                fault = next((f for needle, f in self._refusals if needle in text), None)
            if fault is None and method != "auth.test" and self._rng.random() < self.error_rate:
                fault = Fault(status=500)
            if fault is not None and fault.accept:
                status, body, _ = self._dispatch(method, params, token)
                return status, body, fault
            if fault is not None:
                self._record(method, params, fault.status, fault.error or f"http_{fault.status}")
                return fault.status, {"ok": False, "error": fault.error} if fault.error else None, fault
            return self._dispatch(method, params, token)

    def _dispatch(self, method: str, params: dict[str, Any], token: str | None) -> tuple[int, Any, None]:
        if token != TOKEN:
            return self._fail(method, params, "invalid_auth")
        if method == "auth.test":
            return self._ok(method, params, {"user_id": "U0BOT", "team_id": "T0TEST", "bot_id": "B0BOT"})
        if method == "chat.postMessage":
            return self._post(params)
        if method == "chat.update":
            return self._update(params)
        if method in ("conversations.history", "conversations.replies"):
            return self._read(method, params)
        return self._fail(method, params, "unknown_method")

    def _record(self, method: str, params: dict[str, Any], status: int, error: str | None) -> None:
        self.calls.append(Call(method, params, status, error, time.monotonic()))
        self._changed.notify_all()

    def _ok(self, method: str, params: dict[str, Any], body: dict[str, Any]) -> tuple[int, Any, None]:
        self._record(method, params, 200, None)
        return 200, {"ok": True, **body}, None

    def _fail(self, method: str, params: dict[str, Any], error: str) -> tuple[int, Any, None]:
        self._record(method, params, 200, error)
        return 200, {"ok": False, "error": error}, None

    def _check(self, params: dict[str, Any]) -> str | None:
        text, blocks = params.get("text"), params.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
            params["blocks"] = blocks
        if not text and not blocks:
            return "no_text"
        if blocks is not None and (
            not isinstance(blocks, list) or any(b.get("type") not in BLOCK_TYPES for b in blocks)
        ):
            return "invalid_blocks"
        return None

    def _channel(self, name: Any) -> str | None:
        name = str(name or "")
        if name in self.channels:
            return self.channels[name]
        return name if name in self.channels.values() else None

    def _post(self, params: dict[str, Any]) -> tuple[int, Any, None]:
        channel = self._channel(params.get("channel"))
        if channel is None:
            return self._fail("chat.postMessage", params, "channel_not_found")
        problem = self._check(params)
        if problem:
            return self._fail("chat.postMessage", params, problem)
        thread_ts = params.get("thread_ts") or None
        if thread_ts is not None:
            parent = self.messages.get(thread_ts)
            if parent is None or parent.channel != channel or parent.deleted:
                return self._fail("chat.postMessage", params, "thread_not_found")
            if parent.thread_ts is not None:  # Slack threads are one level deep
                return self._fail("chat.postMessage", params, "cannot_reply_to_message")
        # Like Slack's: wall-clock seconds, unique in the channel.
        self._last_ts_us = max(time.time_ns() // 1000, self._last_ts_us + 1)
        ts = f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"
        metadata = params.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        self.messages[ts] = Message(
            channel, ts, str(params.get("text")), params.get("blocks"), thread_ts, metadata=metadata
        )
        return self._ok("chat.postMessage", params, {"channel": channel, "ts": ts, "message": {"ts": ts}})

    def _update(self, params: dict[str, Any]) -> tuple[int, Any, None]:
        channel = self._channel(params.get("channel"))
        if channel is None:
            return self._fail("chat.update", params, "channel_not_found")
        message = self.messages.get(str(params.get("ts")))
        if message is None or message.channel != channel or message.deleted:
            return self._fail("chat.update", params, "message_not_found")
        problem = self._check(params)
        if problem:
            return self._fail("chat.update", params, problem)
        message.history.append(message.text)
        message.text = str(params.get("text"))
        message.blocks = params.get("blocks")
        return self._ok("chat.update", params, {"channel": channel, "ts": message.ts})

    def _read(self, method: str, params: dict[str, Any]) -> tuple[int, Any, None]:
        channel = str(params.get("channel") or "")
        if channel not in self.channels.values():  # IDs only, as Slack's conversations.* methods
            return self._fail(method, params, "channel_not_found")
        oldest = float(params.get("oldest") or 0)
        latest = float(params.get("latest") or "inf")
        limit = int(params.get("limit") or 100)
        live = [
            m
            for m in self.messages.values()
            if m.channel == channel and not m.deleted and oldest < float(m.ts) < latest
        ]
        if method == "conversations.replies":
            parent = self.messages.get(str(params.get("ts")))
            if parent is None or parent.channel != channel or parent.deleted:
                return self._fail(method, params, "thread_not_found")
            found = [parent] + [m for m in live if m.thread_ts == parent.ts]
        else:
            found = [m for m in reversed(live) if m.thread_ts is None]  # newest first
        with_meta = str(params.get("include_all_metadata")).lower() in ("true", "1")
        messages = []
        for m in found[:limit]:
            body: dict[str, Any] = {"type": "message", "ts": m.ts, "text": m.text, "bot_id": "B0BOT"}
            if m.thread_ts:
                body["thread_ts"] = m.thread_ts
            if with_meta and m.metadata is not None:
                body["metadata"] = m.metadata
            messages.append(body)
        return self._ok(method, params, {"messages": messages, "has_more": len(found) > limit})

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if "json" in (self.headers.get("Content-Type") or ""):
                    params: dict[str, Any] = json.loads(raw or "{}")
                else:
                    params = dict(parse_qsl(raw))
                auth = self.headers.get("Authorization") or ""
                token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else params.get("token")
                if api.delay:
                    time.sleep(api.delay)
                status, body, fault = api._answer(self.path.rsplit("/", 1)[-1], params, token)
                if fault is not None and fault.drop:
                    self.close_connection = True
                    self.connection.close()
                    return
                payload = (
                    json.dumps(body) if body is not None else "<html>Internal Server Error</html>"
                ).encode()
                self.send_response(status)
                kind = "application/json" if body is not None else "text/html"
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                if fault is not None and fault.retry_after is not None:
                    self.send_header("Retry-After", str(fault.retry_after))
                self.end_headers()
                self.wfile.write(payload)

        return Handler
