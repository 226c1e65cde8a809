"""Knowing when Bolt's listeners are done: an executor that counts the work not yet finished."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
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
        self._held: list[Callable[[], object]] | None = None
        self.lazy = _Lazy(self)

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        with self._cond:
            self._pending += 1
        return self._start(lambda: fn(*args, **kwargs))

    def _start(self, work: Callable[[], T]) -> Future[T]:
        try:
            future = self.inner.submit(work)
        except BaseException:
            self._done()
            raise
        future.add_done_callback(lambda _f: self._done())
        return future

    def submit_lazy(self, work: Callable[[], object]) -> None:
        """Start a lazy listener, or keep it (counted as pending) until :meth:`lazy_after_ack` ends."""
        with self._cond:
            self._pending += 1
            if self._held is not None:
                self._held.append(work)
                return
        self._start(work)

    @contextmanager
    def lazy_after_ack(self) -> Iterator[None]:
        """Lazy listeners asked for inside the block start when it ends.

        Slack shows a command's ack before the lazy listener's answer arrives; the shell posts
        the ack after ``dispatch`` returns, so it holds the lazy work until then.
        """
        with self._cond:
            self._held = []
        try:
            yield
        finally:
            with self._cond:
                held, self._held = self._held or [], None
            for work in held:
                self._start(work)

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


class _Lazy(Executor):
    """What Bolt's lazy listener runner submits to: the tracker, which may hold the work."""

    def __init__(self, tracker: TrackingExecutor) -> None:
        self.tracker = tracker

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        self.tracker.submit_lazy(lambda: fn(*args, **kwargs))
        return Future()  # Bolt's runner does not wait on it


def track_listeners(app: Any, on_done: Callable[[], None] | None = None) -> TrackingExecutor:
    """Wrap the executor Bolt runs listeners (and lazy listeners) on, to know when they finish."""
    runner = app.listener_runner
    tracker = TrackingExecutor(runner.listener_executor, on_done)
    runner.listener_executor = tracker
    lazy = getattr(runner, "lazy_listener_runner", None)
    if lazy is not None and hasattr(lazy, "executor"):
        lazy.executor = tracker.lazy
    return tracker


__all__ = ["TrackingExecutor", "track_listeners"]
