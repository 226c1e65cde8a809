"""Per-variant counts the endpoint host keeps, as CloudWatch's ``AWS/SageMaker`` metrics would hold them.

Each invocation through the runtime API counts once for the variant that answered: ``Invocations``,
``Invocation5XXErrors`` (the container's non-2xx answer or an injected failure, as SageMaker counts a
``ModelError`` from a failing container) and ``ModelLatency``. Two views: everything since the counts
were started (the rollout's start), and the guardrail period (a sliding window on the host's clock).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: The guardrail rules' period (``ml.guardrails``).
WINDOW_SECONDS = 60.0
#: Latencies kept for the since-start percentiles: the newest ones when there are more.
MAX_SAMPLES = 10_000


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile (CloudWatch's pNN over the samples), None with no sample."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Counts:
    invocations: int
    errors: int
    p50_ms: float | None
    p99_ms: float | None

    def to_dict(self) -> dict[str, object]:
        return {
            "invocations": self.invocations,
            "errors": self.errors,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
        }


class VariantMetrics:
    """Counts of one variant; safe to record from many request threads."""

    def __init__(self, now: Callable[[], float], window: float = WINDOW_SECONDS) -> None:
        self._now = now
        self._window = window
        self._lock = threading.Lock()
        self._invocations = 0
        self._errors = 0
        self._latencies: deque[float] = deque(maxlen=MAX_SAMPLES)
        #: (when, latency ms, failed) of the invocations within the window
        self._recent: deque[tuple[float, float, bool]] = deque()

    def record(self, latency_ms: float, failed: bool) -> None:
        now = self._now()
        with self._lock:
            self._invocations += 1
            self._errors += int(failed)
            self._latencies.append(latency_ms)
            self._recent.append((now, latency_ms, failed))
            self._prune(now)

    def total(self) -> Counts:
        with self._lock:
            latencies = list(self._latencies)
            invocations, errors = self._invocations, self._errors
        return Counts(invocations, errors, percentile(latencies, 0.5), percentile(latencies, 0.99))

    def window(self) -> Counts:
        with self._lock:
            self._prune(self._now())
            recent = list(self._recent)
        latencies = [latency for _, latency, _ in recent]
        return Counts(
            len(recent),
            sum(1 for *_, failed in recent if failed),
            percentile(latencies, 0.5),
            percentile(latencies, 0.99),
        )

    def _prune(self, now: float) -> None:
        while self._recent and self._recent[0][0] <= now - self._window:
            self._recent.popleft()
