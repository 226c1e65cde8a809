"""Clocks for tests whose outcome must not depend on how busy the machine is."""

from __future__ import annotations

import itertools
import threading

from ml.clock import Clock


def ticking_clock(step: float = 0.001) -> Clock:
    """Real wall time and sleeps; a monotonic timer that moves ``step`` s per reading, however long
    the work between two readings really took. A timed call then lasts exactly ``step``."""
    readings = itertools.count()
    return Clock(monotonic=lambda: next(readings) * step)


class ManualClock:
    """Time that moves only when the test says so: ``sleep`` blocks until ``advance`` passes its end.

    ``clock`` is the ``Clock`` to inject (wall and monotonic time are the same reading). A test drives
    a waiting loop with ``wait_sleeping`` (until some thread sleeps on it, or ``done`` is set) and
    ``advance`` (which returns once every sleeper it woke has left ``sleep``).
    """

    def __init__(self, start: float = 1_780_000_000.0) -> None:
        self._now = start
        self._changed = threading.Condition()
        self._sleepers: dict[int, float] = {}
        self._ids = itertools.count()
        self.clock = Clock(wall=self.now, monotonic=self.now, sleep=self.sleep)

    def now(self) -> float:
        with self._changed:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._changed:
            me = next(self._ids)
            self._sleepers[me] = self._now + seconds
            self._changed.notify_all()
            self._changed.wait_for(lambda: self._now >= self._sleepers[me])
            del self._sleepers[me]
            self._changed.notify_all()

    def poke(self) -> None:
        """Wake ``wait_sleeping`` to look at its ``done`` event again."""
        with self._changed:
            self._changed.notify_all()

    def wait_sleeping(self, done: threading.Event, timeout: float = 60.0) -> bool:
        """Until a thread sleeps on this clock (True) or ``done`` is set (False)."""
        with self._changed:
            if not self._changed.wait_for(lambda: bool(self._sleepers) or done.is_set(), timeout):
                raise AssertionError(f"nothing slept on the clock nor finished within {timeout:g} s")
            return not done.is_set() or bool(self._sleepers)

    def advance(self, seconds: float, timeout: float = 60.0) -> None:
        with self._changed:
            self._now += seconds
            due = {me for me, until in self._sleepers.items() if until <= self._now}
            self._changed.notify_all()
            if not self._changed.wait_for(lambda: not due & set(self._sleepers), timeout):
                raise AssertionError("a sleeper did not wake up")
