"""Warnings that outsiders can trigger at will, logged at most once per interval per kind.

A flood of events about unknown resources must not become a flood of log lines: the first of a kind
is logged at once, later ones in the same interval are only counted, and the next line logged for
that kind says how many were left out.
"""

from __future__ import annotations

import logging
import threading

from ml.clock import SYSTEM_CLOCK, Clock


class ThrottledLog:
    """``warning(kind, msg, *args)``: at most one line per ``kind`` per ``interval`` seconds."""

    def __init__(self, logger: logging.Logger, interval: float = 300.0, clock: Clock = SYSTEM_CLOCK) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be > 0 seconds, got {interval}")
        self.logger = logger
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        # kind -> (when the last line was logged, lines left out since); kinds are a fixed set of
        # literals in the callers, never outside text, so this stays small.
        self._state: dict[str, tuple[float, int]] = {}

    def warning(self, kind: str, msg: str, *args: object) -> bool:
        """Log (True) or count (False) one warning of ``kind``."""
        now = self.clock.monotonic()
        with self._lock:
            last, skipped = self._state.get(kind, (float("-inf"), 0))
            if now - last < self.interval:
                self._state[kind] = (last, skipped + 1)
                return False
            self._state[kind] = (now, 0)
        if skipped:
            msg += " (and %d more like it in the last %.0f s)"
            args = (*args, skipped, now - last)
        self.logger.warning(msg, *args)
        return True
