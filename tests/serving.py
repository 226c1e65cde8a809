"""Test plumbing for running the app for real: a listener pool that knows when it is idle, and an
HTTP server in a thread that accepts connections before it starts serving."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import uvicorn

from bot.limits import Limits
from runtimes.http_guard import uvicorn_config


class CountingExecutor(ThreadPoolExecutor):
    """A thread pool that knows when all submitted work (and work it spawned) has finished.

    ``on_done`` is called after each task, so that waiters on state a task changed wake up.
    """

    def __init__(self, max_workers: int = 16, on_done: Callable[[], None] = lambda: None) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="bench-listener")
        self._pending = 0
        self._cond = threading.Condition()
        self._on_done = on_done

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._cond:
            self._pending += 1

        def run() -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                with self._cond:
                    self._pending -= 1
                    self._cond.notify_all()
                self._on_done()

        return super().submit(run)

    def wait_idle(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{self._pending} listener task(s) still running after {timeout} s")
                self._cond.wait(left)


@contextmanager
def http_server(asgi: Any, limits: Limits | None = None) -> Iterator[str]:
    """Serve ``asgi`` on 127.0.0.1 as ``mlops-bot serve`` does (every limit applied), in a thread."""
    limits = limits or getattr(getattr(asgi, "state", None), "limits", None) or Limits()
    # log_config=None: uvicorn's records reach the root logger (and pytest's caplog) like any other
    config = uvicorn_config(asgi, limits, host="127.0.0.1", port=0, log_config=None, lifespan="off")
    server = uvicorn.Server(config)
    # The socket is bound and listening before the server runs: connections made before it serves
    # wait in the backlog, so nothing has to wait for the server to start.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(config.backlog)
    port = sock.getsockname()[1]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
