"""Clocks for tests whose outcome must not depend on how busy the machine is."""

from __future__ import annotations

import itertools

from ml.clock import Clock


def ticking_clock(step: float = 0.001) -> Clock:
    """Real wall time and sleeps; a monotonic timer that moves ``step`` s per reading, however long
    the work between two readings really took. A timed call then lasts exactly ``step``."""
    readings = itertools.count()
    return Clock(monotonic=lambda: next(readings) * step)
