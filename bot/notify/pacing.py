"""When each Slack call may go: token buckets on an injectable clock, pauses, backoff and ``Retry-After``."""

from __future__ import annotations

import random
from typing import Any, Literal

from bot.notify.plan import Work
from ml.clock import Clock

Method = Literal["post", "update"]


class Bucket:
    """Token bucket: ``rate`` calls per second with bursts of up to ``burst``."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = now

    def _refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.stamp) * self.rate)
        self.stamp = now

    def delay(self, now: float) -> float:
        """Seconds until a call may go."""
        self._refill(now)
        # Refills add up float errors: a token short by less than a nanosecond's worth is a token.
        short = 1.0 - self.tokens
        return 0.0 if short <= 1e-9 * self.rate else short / self.rate

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


class Pacing:
    """The worker's timing state: per-channel post buckets, one update bucket, pauses and retry times."""

    def __init__(
        self,
        clock: Clock,
        *,
        post_rate: float,
        post_burst: int,
        update_rate: float,
        update_burst: int,
        message_interval: float,
        backoff_base: float,
        backoff_max: float,
    ) -> None:
        self._clock = clock
        self._post_rate, self._post_burst = post_rate, float(post_burst)
        self._update_bucket = Bucket(update_rate, float(update_burst), clock.monotonic())
        self._post_buckets: dict[str, Bucket] = {}
        # A message changes at most once per interval: newer states wait and coalesce meanwhile.
        self._message_interval = message_interval
        self._last_written: dict[str, float] = {}
        self._channel_ids: dict[str, str] = {}
        self._not_before: dict[str, float] = {}
        self.paused_until: dict[Method, float] = {"post": 0.0, "update": 0.0}
        self._backoff_base, self._backoff_max = backoff_base, backoff_max

    def channel_id(self, channel: str) -> str:
        """The ID of a channel configured by name, once a post has shown it; else ``channel``."""
        return self._channel_ids.get(channel, channel)

    def bucket(self, work: Work, channel: str) -> Bucket:
        if work.kind == "update":
            return self._update_bucket
        channel = self.channel_id(channel)
        if channel not in self._post_buckets:
            self._post_buckets[channel] = Bucket(self._post_rate, self._post_burst, self._clock.monotonic())
        return self._post_buckets[channel]

    def learn_channel_id(self, name: str, channel_id: str) -> None:
        # ``#mlops`` and its ID are one channel: they share one bucket (and its spent tokens).
        if name == channel_id or name in self._channel_ids:
            return
        self._channel_ids[name] = channel_id
        if name in self._post_buckets and channel_id not in self._post_buckets:
            self._post_buckets[channel_id] = self._post_buckets.pop(name)

    def ready_in(self, work: Work, channel: str, now: float) -> float:
        """Seconds until ``work`` may be sent to ``channel``; <= 0 when it may go now."""
        recent = 0.0
        if work.kind == "update" and work.key in self._last_written:
            recent = self._last_written[work.key] + self._message_interval - now
        return max(
            self.paused_until[work.method] - now,
            self._not_before.get(work.item, 0.0) - now,
            self.bucket(work, channel).delay(now),
            recent,
        )

    def written(self, key: str, now: float) -> None:
        self._last_written[key] = now

    def retry_at(self, item: str, when: float) -> None:
        self._not_before[item] = when

    def clear(self, item: str) -> None:
        self._not_before.pop(item, None)

    def pause(self, method: Method, until: float) -> None:
        self.paused_until[method] = max(self.paused_until[method], until)

    def pause_all(self, until: float) -> None:
        for method in self.paused_until:
            self.paused_until[method] = until

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter for the ``attempt``-th failure."""
        cap = min(self._backoff_max, self._backoff_base * 2 ** min(attempt - 1, 30))
        return random.uniform(cap / 2, cap)
