"""Which variant answers an invocation: smooth weighted round-robin, so the split is exact, not random.

With weights 10 and 90, every run of ten invocations sends exactly one to the first variant (nginx's
"smooth" algorithm: each pick adds every weight to its running score, takes the highest, and takes the
total off the winner). SageMaker routes by weight at random; exact counts make the local twin testable.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence


class WeightedRouter:
    """Picks indexes of ``weights`` in proportion to them; weight 0 is never picked while another is not."""

    def __init__(self, weights: Sequence[int]) -> None:
        if not weights:
            raise ValueError("a router needs at least one weight")
        self._weights = [max(0, int(w)) for w in weights]
        self._total = sum(self._weights)
        self._scores = [0] * len(self._weights)
        self._lock = threading.Lock()

    def pick(self) -> int:
        if self._total == 0 or len(self._weights) == 1:
            return 0
        with self._lock:
            for i, weight in enumerate(self._weights):
                self._scores[i] += weight
            best = max(range(len(self._scores)), key=lambda i: (self._scores[i], -i))
            self._scores[best] -= self._total
            return best
