"""When each Slack call may go: token buckets on an injectable clock, pauses, backoff and ``Retry-After``."""

from __future__ import annotations

import random
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Sent:
    """When the last Slack call for one message ended, on both clocks (its answer or its failure)."""

    monotonic: float
    wall: float


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
        self._sent: dict[str, Sent] = {}
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

    def ready_in(self, work: Work, channel: str, now: float, sent_at: float | None = None) -> float:
        """Seconds until ``work`` may be sent to ``channel``; <= 0 when it may go now.

        ``sent_at``: the stored wall time of the last call for the message, by whichever process made it.
        """
        return max(
            self.paused_until[work.method] - now,
            self._not_before.get(work.item, 0.0) - now,
            self.bucket(work, channel).delay(now),
            self.message_wait(work.key, now, sent_at) if work.key is not None else 0.0,
        )

    def message_wait(self, key: str, now: float, sent_at: float | None = None) -> float:
        """Seconds until the message ``key`` may be written again: one interval after the last call ended.

        Every call for the message counts, whatever came of it (an update whose answer was lost may
        have changed the message), and its end is the latest moment Slack can have received it, so
        the next call reaches Slack at least an interval later. Slack stamps messages with its wall
        clock, so the interval holds on the wall clock too; a wall clock stepped back adds at most
        one more interval.
        """
        wall = self._clock.wall()
        mark = self._sent.get(key)
        if sent_at is not None and (mark is None or sent_at != mark.wall):
            # Stored by another process (or before a restart): only its wall time is shared. Adopted
            # once, so that a mark ahead of this wall clock starts one interval now, not at every look.
            stored = Sent(now - max(0.0, wall - sent_at), sent_at)
            if mark is None or stored.monotonic > mark.monotonic:
                self._sent[key] = mark = stored
        if mark is None:
            return 0.0
        interval = self._message_interval
        by_monotonic = mark.monotonic + interval - now
        by_wall = mark.wall + interval - wall
        wait = max(by_monotonic, min(by_wall, by_monotonic + interval))
        # Never a wait too short to move a clock (a float wall clock has steps of about 0.2 µs).
        return max(wait, 1e-6) if wait > 0 else wait

    def sent(self, key: str, now: float) -> Sent:
        """Note that a call for message ``key`` has just ended (answered or failed); the mark noted."""
        mark = Sent(now, self._clock.wall())
        # Marks older than two intervals constrain nothing (see message_wait): keep only the recent.
        stale = [k for k, m in self._sent.items() if m.monotonic + 2 * self._message_interval < now]
        for k in stale:
            del self._sent[k]
        self._sent[key] = mark
        return mark

    def recent_messages(self) -> int:
        """How many messages' last calls this process still remembers (those of the last two intervals)."""
        return len(self._sent)

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
