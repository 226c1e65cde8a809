"""The one place the ML platforms read the time and wait, so tests can drive both."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Clock:
    """Wall-clock time (timestamps, names), a monotonic timer (deadlines, latency) and a sleeper."""

    wall: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def now(self) -> datetime:
        """The wall-clock time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.wall(), UTC)


SYSTEM_CLOCK = Clock()
