"""What the notifier tests share: the local Slack's settings and ways to drain the outbox on a fake clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from bot.notify import Notifier
from bot.store.sqlite import SQLiteStore
from runtimes.slack_local import Call, LocalSlack
from tests.bot.conftest import FakeClock


def blocks(text: str) -> list[dict[str, Any]]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


@contextmanager
def closing_notifiers() -> Iterator[Callable[[Notifier, SQLiteStore], Notifier]]:
    """For a fixture that builds notifiers: ``keep(notifier, store)`` returns the notifier, and every one
    kept is closed, then its store, once the test is over."""
    made: list[tuple[Notifier, SQLiteStore]] = []

    def keep(notifier: Notifier, store: SQLiteStore) -> Notifier:
        made.append((notifier, store))
        return notifier

    try:
        yield keep
    finally:
        for notifier, store in made:
            notifier.close(timeout=0)
            store.close()


def drain(notifier: Notifier, clock: FakeClock, *, until: Callable[[], bool] | None = None) -> None:
    """Step the notifier, moving the fake clock over every wait, until the outbox is empty."""
    for _ in range(1000):
        if (until or (lambda: notifier.pending() == 0))():
            return
        wait = notifier.step()
        if wait > 0:
            clock.advance(wait)
    raise AssertionError(f"still {notifier.pending()} queued after 1000 steps")


class Schedule:
    """Steps a notifier on a fake clock, noting the fake time at which each Slack call went."""

    def __init__(self, notifier: Notifier, clock: FakeClock, slack: LocalSlack) -> None:
        self.notifier, self.clock, self.slack = notifier, clock, slack
        self.timed: list[tuple[float, Call]] = []
        self._seen = len(slack.calls())

    def step(self) -> float:
        """One ``Notifier.step``; what it returns."""
        wait = self.notifier.step()
        new = self.slack.calls()[self._seen :]
        self._seen += len(new)
        self.timed += [(self.clock.monotonic(), call) for call in new]
        return wait

    def catch_up(self) -> None:
        """Step until the notifier has to wait (it makes at most one call per step)."""
        for _ in range(1000):
            if self.step() > 0:
                return
        raise AssertionError("the notifier never had to wait")

    def drain(self) -> None:
        """Step, moving the clock over every wait, until the outbox is empty."""
        for _ in range(1000):
            if self.notifier.pending() == 0:
                return
            wait = self.step()
            if wait > 0:
                self.clock.advance(wait)
        raise AssertionError(f"still {self.notifier.pending()} queued after 1000 steps")

    def times(self, method: str, text_prefix: str = "") -> list[float]:
        """When each accepted ``method`` call (whose text starts with ``text_prefix``) went."""
        return [
            at
            for at, call in self.timed
            if call.method == method and call.ok and str(call.args.get("text", "")).startswith(text_prefix)
        ]


TOKEN = "xoxb-test-token"


@pytest.fixture
def local_slack_options() -> dict[str, Any]:
    return {"token": TOKEN, "channels": {"mlops": "C0MLOPS", "other": "C0OTHER"}}


@pytest.fixture
def slack(local_slack: LocalSlack) -> LocalSlack:
    return local_slack
