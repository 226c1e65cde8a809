"""A background round on a timer, for the scheduled drift check and the scheduled approval work."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

log = logging.getLogger(__name__)

__all__ = ["Repeating"]


class Repeating:
    """Runs :meth:`round` every ``interval`` on a daemon thread once started. The timer waits on an
    event, so :meth:`close` stops it at once; a failing round is logged and the next one runs."""

    def __init__(self, interval: timedelta, name: str) -> None:
        self.interval = interval
        self.name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def round(self) -> object:
        raise NotImplementedError

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval.total_seconds()):
            try:
                self.round()
            except Exception:  # the next round tries again; a failing round must not end the timer
                log.exception("%s failed", self.name)

    def close(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
