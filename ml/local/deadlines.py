"""SageMaker's invocation time limit, kept by one watchdog thread for every request in flight.

The model runs in the request's own thread (a hand-off to a pool per request cost more than the HTTP
handling around it). The watchdog sleeps until the earliest deadline; a request still waiting for its
model then is answered by the watchdog, and whatever the model answers later is dropped. Each request
is answered once: its ``Ticket`` lets either the watchdog (``expire``) or the request's thread
(``settle``) through, never both, and the watchdog sends its answer while holding the ticket, so the
request's thread cannot close the connection under it.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Ticket:
    """One invocation's claim to answer: the first of ``settle`` and ``expire`` wins."""

    __slots__ = ("_lock", "_on_expiry", "deadline", "expired", "key", "settled")

    def __init__(self, key: int, deadline: float, on_expiry: Callable[[], None]) -> None:
        self._lock = threading.Lock()
        self._on_expiry = on_expiry
        self.key = key
        self.deadline = deadline
        #: the watchdog answered: the model's own answer is to be dropped
        self.expired = False
        self.settled = False

    def settle(self) -> bool:
        """The model answered: True if in time (the request's thread answers), False if the watchdog did.

        Blocks while the watchdog is sending its answer."""
        with self._lock:
            if self.expired:
                return False
            self.settled = True
            return True

    def expire(self) -> bool:
        """The deadline passed: send the timeout answer unless the model answered first."""
        with self._lock:
            if self.settled or self.expired:
                return False
            self.expired = True
            try:
                self._on_expiry()
            except Exception:
                # The client may be gone; the request's thread still drops the model's late answer.
                log.exception("answering a timed-out invocation failed")
            return True


class Watchdog:
    """Answers, through each ticket's ``on_expiry``, the invocations whose model has not answered in time.

    ``monotonic`` reads the time the deadlines are on; ``poke`` makes the watchdog look again at once
    (a test that moved its clock)."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._changed = threading.Condition()
        self._tickets: dict[int, Ticket] = {}
        self._keys = itertools.count()
        self._wake_at = math.inf
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="ml-local-deadlines", daemon=True)
        self._thread.start()

    def watch(self, timeout: float, on_expiry: Callable[[], None]) -> Ticket:
        """Start the clock on one invocation; ``settle`` the ticket (then ``forget``) when it answers."""
        ticket = Ticket(next(self._keys), self._monotonic() + timeout, on_expiry)
        with self._changed:
            self._tickets[ticket.key] = ticket
            if ticket.deadline < self._wake_at:
                self._changed.notify()
        return ticket

    def forget(self, ticket: Ticket) -> None:
        with self._changed:
            self._tickets.pop(ticket.key, None)

    def poke(self) -> None:
        with self._changed:
            self._changed.notify()

    def stop(self) -> None:
        with self._changed:
            self._stopped = True
            self._changed.notify()
        self._thread.join(timeout=5)

    @property
    def watching(self) -> int:
        """Invocations in flight."""
        with self._changed:
            return len(self._tickets)

    def _run(self) -> None:
        while True:
            with self._changed:
                if self._stopped:
                    return
                now = self._monotonic()
                due = [t for t in self._tickets.values() if t.deadline <= now]
                for ticket in due:
                    del self._tickets[ticket.key]
                if not due:
                    self._wake_at = min((t.deadline for t in self._tickets.values()), default=math.inf)
                    self._changed.wait(None if self._wake_at == math.inf else self._wake_at - now)
                    continue
            for ticket in due:  # outside the lock: new invocations are not held up by a slow send
                ticket.expire()
