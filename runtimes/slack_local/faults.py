"""Faults a test or the chaos bench sets on the local Slack: errors, rate limits, lost answers, hangs."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: How long a held call waits at most, so that a forgotten hold cannot keep a server thread forever.
HOLD_LIMIT_SECONDS = 60.0


@dataclass(frozen=True)
class Fault:
    """How Slack fails one call.

    ``error`` is the Slack error code of a JSON answer; without one the answer is a non-JSON body,
    as from a load balancer. ``drop`` closes the connection without an answer; with ``accept`` the
    call takes effect first, as when the answer is lost on its way back.
    """

    status: int = 500
    error: str | None = None
    retry_after: int | None = None
    drop: bool = False
    accept: bool = False

    @classmethod
    def answering(cls, status: int, error: str | None = None, retry_after: int | None = 1) -> Fault:
        """A JSON error answer: ``ratelimited`` with ``Retry-After`` for 429, ``internal_error`` for 5xx."""
        default = {429: "ratelimited", 200: "fatal_error"}.get(status, "internal_error")
        return cls(status, error or default, retry_after if status == 429 else None)


@dataclass
class Hold:
    """Calls of the held methods wait until ``release`` is set, as when Slack does not answer."""

    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


@dataclass
class _Queued:
    fault: Fault
    remaining: int | None  # None: until the faults are cleared


class FaultPlan:
    """The faults to apply, per Web API method (``response_url`` for response URL posts). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, list[_Queued]] = {}
        self._refusals: list[tuple[str, Fault]] = []
        self._rate: tuple[float, int, frozenset[str] | None] = (0.0, 500, None)
        self._rng = random.Random()
        self._holds: dict[str, Hold] = {}

    def queue(self, method: str, fault: Fault, times: int | None = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with ``fault`` (None: every call, until cleared)."""
        if times is not None and times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._queues.setdefault(method, []).append(_Queued(fault, times))

    def refuse(self, text: str, fault: Fault) -> None:
        """Answer ``fault`` to every ``chat.*`` call whose text contains ``text``, until cleared."""
        with self._lock:
            self._refusals.append((text, fault))

    def set_error_rate(
        self, rate: float, *, status: int, methods: Iterable[str] | None, seed: int | None
    ) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be within [0, 1], got {rate}")
        with self._lock:
            self._rate = (rate, status, frozenset(methods) if methods is not None else None)
            if seed is not None:
                self._rng.seed(seed)

    def hold(self, methods: Iterable[str]) -> Hold:
        """From now on, calls of ``methods`` wait for the returned hold's release."""
        hold = Hold()
        with self._lock:
            for method in methods:
                self._holds[method] = hold
        return hold

    def release(self, methods: Iterable[str] = ()) -> None:
        """Release the holds of ``methods`` (all holds when none is named)."""
        with self._lock:
            for method in tuple(methods) or tuple(self._holds):
                hold = self._holds.pop(method, None)
                if hold is not None:
                    hold.release.set()

    def clear(self) -> None:
        with self._lock:
            self._queues.clear()
            self._refusals.clear()
            self._rate = (0.0, 500, None)

    def wait_if_held(self, method: str) -> None:
        with self._lock:
            hold = self._holds.get(method)
        if hold is not None:
            hold.arrived.set()
            hold.release.wait(HOLD_LIMIT_SECONDS)

    def take(self, method: str, args: Mapping[str, Any]) -> Fault | None:
        """The fault for this call, if any: queued faults first, then refusals, then the error rate."""
        with self._lock:
            queue = self._queues.get(method)
            if queue:
                head = queue[0]
                if head.remaining is not None:
                    head.remaining -= 1
                    if head.remaining <= 0:
                        queue.pop(0)
                return head.fault
            if method.startswith("chat."):
                text = str(args.get("text") or "")
                refused = next((f for needle, f in self._refusals if needle in text), None)
                if refused is not None:
                    return refused
            rate, status, methods = self._rate
            if rate > 0 and (methods is None or method in methods) and self._rng.random() < rate:
                return Fault(status, "internal_error")
        return None
