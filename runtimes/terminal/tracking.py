"""Knowing when Bolt's listeners are done: an executor that counts the work not yet finished."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class TrackingExecutor(Executor):
    """Counts work not yet finished, so the shell can tell when Bolt's listeners are done."""

    def __init__(self, inner: Executor, on_done: Callable[[], None] | None = None) -> None:
        self.inner = inner
        self._pending = 0
        self._cond = threading.Condition()
        self._on_done = on_done  # after each piece of work, so that waiters on what it changed wake

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        with self._cond:
            self._pending += 1
        try:
            future = self.inner.submit(fn, *args, **kwargs)
        except BaseException:
            self._done()
            raise
        future.add_done_callback(lambda _f: self._done())
        return future

    def _done(self) -> None:
        with self._cond:
            self._pending -= 1
            self._cond.notify_all()
        if self._on_done is not None:
            self._on_done()

    @property
    def pending(self) -> int:
        with self._cond:
            return self._pending

    def wait_idle(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._pending == 0, timeout)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.inner.shutdown(wait=wait, cancel_futures=cancel_futures)


def track_listeners(app: Any, on_done: Callable[[], None] | None = None) -> TrackingExecutor:
    """Wrap the executor Bolt runs listeners (and lazy listeners) on, to know when they finish."""
    runner = app.listener_runner
    tracker = TrackingExecutor(runner.listener_executor, on_done)
    runner.listener_executor = tracker
    lazy = getattr(runner, "lazy_listener_runner", None)
    if lazy is not None and hasattr(lazy, "executor"):
        lazy.executor = tracker
    return tracker


__all__ = ["TrackingExecutor", "track_listeners"]
