"""A recording fake of the Slack Web API, served over real HTTP on 127.0.0.1.

Answers the methods the bot uses, keeps the messages it posted (so tests can read a
message's latest text and blocks, and its thread), and records every call including
``response_url`` posts (served under ``/response/<id>``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


@dataclass
class Hold:
    """Calls of one method wait until ``release`` is set, as when Slack does not answer."""

    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None
    updates: int = 0


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.messages: dict[str, Message] = {}
        self.groups: dict[str, tuple[str, list[str]]] = {}  # handle -> (id, members)
        self.errors: dict[str, str] = {}  # method -> Slack error code to answer
        self.holds: dict[str, Hold] = {}  # method -> calls wait for its release
        self._lock = threading.Lock()
        self._ts = 1_700_000_000
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    # -- lifecycle ----------------------------------------------------------------
    def start(self) -> FakeSlack:
        self._thread.start()
        return self

    def stop(self) -> None:
        for hold in list(self.holds.values()):
            hold.release.set()
        self._server.shutdown()
        self._server.server_close()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str = "r") -> str:
        return f"http://127.0.0.1:{self.port}/response/{name}"

    # -- set-up -------------------------------------------------------------------
    def set_group(self, handle: str, members: list[str]) -> None:
        with self._lock:
            group_id = self.groups.get(handle, (f"S{len(self.groups) + 1:04d}", []))[0]
            self.groups[handle] = (group_id, list(members))

    def hold(self, method: str) -> Hold:
        """From now on, calls of ``method`` hang until the returned hold is released."""
        hold = self.holds[method] = Hold()
        return hold

    # -- queries ------------------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}; calls: {[c.method for c in self.calls][-30:]}")

    def thread(self, ts: str) -> list[Message]:
        with self._lock:
            return [m for m in self.messages.values() if m.thread_ts == ts]

    def top_level(self) -> list[Message]:
        with self._lock:
            return [m for m in self.messages.values() if m.thread_ts is None]

    def responses(self) -> list[dict[str, Any]]:
        return [c.args for c in self.calls_to("response")]

    # -- HTTP ---------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def _args(self) -> dict[str, Any]:
                parts = urlsplit(self.path)
                args: dict[str, Any] = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                ctype = self.headers.get("content-type", "")
                if raw and "json" in ctype:
                    args.update(json.loads(raw))
                elif raw:
                    args.update({k: v[-1] for k, v in parse_qs(raw.decode()).items()})
                return args

            def _send(self, body: dict[str, Any], status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self.do_POST()

            def do_POST(self) -> None:
                path = urlsplit(self.path).path
                args = self._args()
                if path.startswith("/response/"):
                    with fake._lock:
                        fake.calls.append(Call("response", args))
                    self._send({"ok": True})
                    return
                method = path.removeprefix("/api/")
                self._send(fake._answer(method, args))

        return Handler

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        hold = self.holds.get(method)
        if hold is not None:
            hold.arrived.set()
            hold.release.wait(60)  # bounded, so that a forgotten hold cannot keep a thread forever
        with self._lock:
            self.calls.append(Call(method, args))
            if method in self.errors:
                return {"ok": False, "error": self.errors[method]}
            if method == "auth.test":
                return {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1", "user": "mlops-bot"}
            if method == "usergroups.list":
                return {
                    "ok": True,
                    "usergroups": [{"id": gid, "handle": h} for h, (gid, _) in self.groups.items()],
                }
            if method == "usergroups.users.list":
                for gid, members in self.groups.values():
                    if gid == args.get("usergroup"):
                        return {"ok": True, "users": members}
                return {"ok": False, "error": "no_such_subteam"}
            if method == "users.info":
                return {
                    "ok": True,
                    "user": {"id": args.get("user"), "name": str(args.get("user", "")).lower()},
                }
            if method == "chat.postMessage":
                self._ts += 1
                ts = f"{self._ts}.000100"
                channel = str(args.get("channel") or "C1")
                blocks = _blocks(args.get("blocks"))
                self.messages[ts] = Message(
                    channel, ts, str(args.get("text", "")), blocks, args.get("thread_ts")
                )
                return {"ok": True, "channel": channel, "ts": ts}
            if method == "chat.update":
                msg = self.messages.get(str(args.get("ts")))
                if msg is None:
                    return {"ok": False, "error": "message_not_found"}
                msg.text = str(args.get("text", ""))
                msg.blocks = _blocks(args.get("blocks"))
                msg.updates += 1
                return {"ok": True, "channel": msg.channel, "ts": msg.ts}
            if method == "chat.postEphemeral":
                return {"ok": True, "message_ts": "1.1"}
            if method in ("views.open", "views.update"):
                return {"ok": True, "view": {"id": "V1", **(_view(args.get("view")))}}
            return {"ok": False, "error": "unknown_method"}


def _blocks(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        value = json.loads(value)
    return list(value or [])


def _view(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = json.loads(value)
    return dict(value or {})
