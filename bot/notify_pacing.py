"""Pacing of Slack calls: token buckets on an injectable clock, and Slack's ``Retry-After``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Bucket:
    """Token bucket: ``rate`` calls per second with bursts of up to ``burst``."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float]) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = clock()

    def _refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.stamp) * self.rate)
        self.stamp = now

    def delay(self, now: float) -> float:
        """Seconds until a call may go."""
        self._refill(now)
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1.0


def retry_after(headers: Any, cap: float) -> float:
    """Seconds named by a ``Retry-After`` header (1 if absent or unreadable), at most ``cap``."""
    value = None
    for name, v in dict(headers).items():
        if str(name).lower() == "retry-after":
            value = v[0] if isinstance(v, list | tuple) and v else v
    try:
        seconds = float(value) if value is not None else 1.0
    except (TypeError, ValueError):
        seconds = 1.0
    return min(cap, max(0.0, seconds))
