"""What the rollout tests share: a platform on a manual clock, traffic over HTTP, a promote in a thread."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ml.local import LocalPlatform
from ml.platform import ApprovalStatus, EndpointInfo
from tests.ml.clocks import ManualClock

PRODUCTION = "mlops-xgboost-production"
ROW = (
    b"52,Self-emp-inc,287927,HS-grad,9,Married-civ-spouse,Exec-managerial,Wife,White,Female,15024,0,40,"
    b"United-States"
)


def platform_on(home: Path, clock: ManualClock, **options: Any) -> LocalPlatform:
    """v1 serves production (``release_home``); v2 is approved; endpoints hosted in process."""
    options.setdefault("warm_rollback", timedelta(minutes=30))
    made = LocalPlatform(home, host_endpoints_in_process=True, clock=clock.clock, **options)
    made.update_approval(2, ApprovalStatus.APPROVED, "fine")
    return made


@dataclass
class Answered:
    """Invocations sent, by the variant that answered, and the failures."""

    variants: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)


def invoke(platform: LocalPlatform, count: int, answered: Answered | None = None) -> Answered:
    """``count`` invocations of production through the runtime API, on one keep-alive connection."""
    answered = answered or Answered()
    url = urlsplit(platform.endpoint_url)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
    try:
        for _ in range(count):
            connection.request(
                "POST", f"/endpoints/{PRODUCTION}/invocations", ROW, {"Content-Type": "text/csv"}
            )
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                answered.failures.append(response.status)
                continue
            answered.variants.append(response.getheader("x-Amzn-Invoked-Production-Variant") or "")
            answered.versions.append(response.getheader("X-Model-Version") or "")
    finally:
        connection.close()
    return answered


class Promote:
    """A deploy running in its own thread, as the bot's lazy listener runs it."""

    def __init__(self, clock: ManualClock, call: Callable[[], EndpointInfo]) -> None:
        self.done = threading.Event()
        self.result: EndpointInfo | None = None
        self.error: BaseException | None = None
        self._clock = clock

        def run() -> None:
            try:
                self.result = call()
            except BaseException as exc:  # handed to the test, which asserts on it
                self.error = exc
            finally:
                self.done.set()
                clock.poke()

        self._thread = threading.Thread(target=run, name="promote", daemon=True)
        self._thread.start()

    def drive(self, on_tick: Callable[[int], None] = lambda _second: None, limit: int = 4000) -> None:
        """Advance the clock a second at a time while the promote waits, calling ``on_tick`` first."""
        for second in range(limit):
            if not self._clock.wait_sleeping(self.done):
                break
            on_tick(second)
            self._clock.advance(1)
        self._thread.join(30)
        assert self.done.is_set(), "the promote did not end"
