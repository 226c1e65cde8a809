"""``LocalSlack``: the workspace served over HTTP, with a record of every call and settable faults."""

from __future__ import annotations

import copy
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.users import LocalUser
from ml.clock import SYSTEM_CLOCK, Clock
from runtimes.slack_local.faults import Fault, FaultPlan, Hold
from runtimes.slack_local.files import FILE_METHODS, FileApi
from runtimes.slack_local.model import JSON, Call, SlackApiFault
from runtimes.slack_local.reads import READ_METHODS, ReadApi
from runtimes.slack_local.web_api import WRITE_METHODS

if TYPE_CHECKING:
    from http.server import ThreadingHTTPServer

    from slack_sdk import WebClient

_METHODS: dict[str, Callable[[LocalSlack, JSON], JSON]] = {**WRITE_METHODS, **READ_METHODS, **FILE_METHODS}

#: Methods this server implements, for documentation and tests.
SUPPORTED_METHODS: tuple[str, ...] = tuple(sorted(_METHODS))


@dataclass(frozen=True)
class Reply:
    """The answer to one Web API call. ``body`` None is a non-JSON body; ``drop`` closes without one."""

    status: int
    body: JSON | None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


class LocalSlack(ReadApi, FileApi):
    """A local Slack workspace and Web API on 127.0.0.1, for the local chat and every test.

    Thread-safe. In memory unless given a ``state_file`` (the terminal chat's, under its home).
    Faults are settings: :meth:`fail_next`, :meth:`inject`, :meth:`refuse`,
    :meth:`set_error_rate`, :meth:`hold`. Every call is recorded (:meth:`calls`).
    """

    def __init__(
        self,
        users: Iterable[LocalUser] | None = None,
        *,
        home: Path | None = None,
        token: str | None = None,
        channels: Iterable[str] | Mapping[str, str] = ("mlops",),
        host: str = "127.0.0.1",
        port: int = 0,
        strict_triggers: bool = False,
        clock: Clock = SYSTEM_CLOCK,
        state_file: Path | None = None,
        files_dir: Path | None = None,
    ) -> None:
        # Workspace's parameters repeated, so that callers' arguments are type-checked
        super().__init__(
            users,
            home=home,
            token=token,
            channels=channels,
            strict_triggers=strict_triggers,
            clock=clock,
            state_file=state_file,
        )
        self._init_files(files_dir)
        self._host, self._port = host, port
        self._idle = threading.Condition(self._lock)
        self._calls: list[Call] = []
        self.faults = FaultPlan()
        self._inflight = 0
        self._last_activity = time.monotonic()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> LocalSlack:
        from runtimes.slack_local.server import serve

        if self._server is None:
            self._server, self._thread = serve(self, self._host, self._port)
        return self

    def close(self) -> None:
        self.faults.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.close_state()

    def __enter__(self) -> LocalSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("LocalSlack is not started: call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        """The ``base_url`` to give ``slack_sdk.WebClient``."""
        return self.url + "/api/"

    def web_client(self, **kwargs: Any) -> WebClient:
        """A ``slack_sdk.WebClient`` with this server's URL and bot token."""
        from slack_sdk import WebClient

        return WebClient(token=self.token, base_url=self.api_url, **kwargs)

    # -- the record ----------------------------------------------------------------------
    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def ok_calls(self, method: str) -> list[Call]:
        return [c for c in self.calls(method) if c.ok]

    def responses(self) -> list[JSON]:
        """Every payload posted to a response URL, oldest first."""
        return [c.args for c in self.calls("response_url")]

    def _record(self, method: str, args: JSON, status: int, response: JSON, arrived: float) -> None:
        with self._lock:
            call = Call(method, copy.deepcopy(args), status, copy.deepcopy(response), arrived)
            self._calls.append(call)
            self._touch()

    # -- faults --------------------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        error: str | None = None,
        times: int | None = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (None: all, until cleared) fail, changing nothing.

        ``status=429`` answers ``ratelimited`` with ``Retry-After``; 5xx answers
        ``internal_error``; ``status=200`` with ``error`` answers a Slack error such as
        ``plan_upgrade_required``. ``method`` is a Web API method or ``response_url``.
        """
        self.faults.queue(method, Fault.answering(status, error, retry_after), times)

    def inject(self, method: str, *faults: Fault) -> None:
        """Answer the next calls of ``method`` with ``faults``, one each, in order."""
        for fault in faults:
            self.faults.queue(method, fault)

    def refuse(self, text: str, fault: Fault) -> None:
        """Answer ``fault`` to every post or update whose text contains ``text``, until cleared."""
        self.faults.refuse(text, fault)

    def set_error_rate(
        self,
        rate: float,
        *,
        status: int = 500,
        methods: Iterable[str] | None = None,
        seed: int | None = None,
    ) -> None:
        """Fail a random ``rate`` fraction of calls (of ``methods``, default all) with ``status``."""
        self.faults.set_error_rate(rate, status=status, methods=methods, seed=seed)

    def hold(self, *methods: str) -> Hold:
        """Calls of ``methods`` hang (Slack does not answer) until released; bounded at 60 s."""
        return self.faults.hold(methods)

    def release(self, *methods: str) -> None:
        self.faults.release(methods)

    def clear_faults(self) -> None:
        self.faults.clear()

    # -- settling ------------------------------------------------------------------------
    def wait_quiet(self, quiet: float = 0.2, timeout: float = 30.0) -> bool:
        """Wait until no request is in flight and nothing happened for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while True:
                now = time.monotonic()
                if self._inflight == 0 and now - self._last_activity >= quiet:
                    return True
                if now >= deadline:
                    return False
                wait = quiet - (now - self._last_activity) if self._inflight == 0 else quiet
                self._idle.wait(max(0.01, min(wait, deadline - now)))

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._inflight > 0

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        """Count one request as in flight while it is served (for :meth:`wait_quiet`)."""
        with self._idle:
            self._inflight += 1
            self._last_activity = time.monotonic()
        try:
            yield
        finally:
            with self._idle:
                self._inflight -= 1
                self._last_activity = time.monotonic()
                self._idle.notify_all()

    # -- requests (called from server threads) -------------------------------------------
    def handle_api(self, method: str, args: JSON, auth_header: str | None) -> Reply:
        """Answer one Web API call, applying the faults set for it."""
        arrived = time.time()
        token = args.pop("token", None)
        if auth_header and auth_header.lower().startswith("bearer "):
            token = auth_header[7:].strip()
        headers: dict[str, str] = {}
        fault: Fault | None = None
        try:
            if not token:
                raise SlackApiFault("not_authed")
            if not secrets.compare_digest(str(token), self.token):
                raise SlackApiFault("invalid_auth")
            self.faults.wait_if_held(method)
            fault = self.faults.take(method, args)
            if fault is not None and not fault.accept:
                if fault.drop:
                    self._record(method, args, 0, {"ok": False, "error": "connection_dropped"}, arrived)
                    return Reply(0, None, drop=True)
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
                if fault.error is None:
                    self._record(method, args, fault.status, {"ok": False}, arrived)
                    return Reply(fault.status, None, headers)
                raise SlackApiFault(fault.error, fault.status)
            handler = _METHODS.get(method)
            if handler is None:
                raise SlackApiFault("unknown_method", 404)
            status, body = 200, handler(self, args)
        except SlackApiFault as exc:
            status, body = exc.status, {"ok": False, "error": exc.error}
            if exc.messages:
                body["errors"] = exc.messages
                body["response_metadata"] = {"messages": [f"[ERROR] {m}" for m in exc.messages]}
        self._record(method, args, status, body, arrived)
        return Reply(status, body, headers, drop=fault is not None and fault.drop)

    def handle_response_url(self, key: str, payload: JSON) -> tuple[int, str]:
        """Answer a POST to a ``response_url``: (HTTP status, plain-text body) like Slack."""
        arrived = time.time()
        status, answer = 200, "ok"
        try:
            self.faults.wait_if_held("response_url")
            fault = self.faults.take("response_url", payload)
            if fault is not None:
                error = fault.error or "internal_error"
                raise SlackApiFault(error, fault.status if fault.status != 200 else 400)
            self.respond(key, payload)
        except SlackApiFault as exc:
            status, answer = exc.status, exc.error
        self._record("response_url", payload, status, {"ok": status == 200}, arrived)
        return status, answer
