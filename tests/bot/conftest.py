"""What the engine's tests share: a clock that moves only when the test (or a sleep through it) moves it."""

from __future__ import annotations

import threading
import time

import pytest

from ml.clock import Clock


class FakeClock(Clock):
    """A ``Clock`` on test time: ``advance`` (or ``sleep``) moves wall and monotonic time together.

    Wall time starts at the real time by default, so that what the engine compares with another
    party's real clock (the local Slack's message timestamps) starts out in agreement.
    """

    def __init__(self, wall: float | None = None) -> None:
        # Clock is frozen: the moving parts live in a list the bound methods read.
        state = [time.time() if wall is None else wall, 1000.0]
        lock = threading.Lock()
        super().__init__(wall=lambda: state[0], monotonic=lambda: state[1], sleep=self.advance)
        object.__setattr__(self, "_state", state)
        object.__setattr__(self, "_lock", lock)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"time only moves forward, got {seconds}")
        with self._lock:  # type: ignore[attr-defined]
            self._state[0] += seconds  # type: ignore[attr-defined]
            self._state[1] += seconds  # type: ignore[attr-defined]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
