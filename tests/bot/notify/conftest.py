"""What the notifier tests share: the local Slack's settings, a fake clock and a way to drain the outbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.notify import Notifier
from runtimes.slack_local import LocalSlack


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def blocks(text: str) -> list[dict[str, Any]]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


def drain(notifier: Notifier, clock: FakeClock, *, until: Callable[[], bool] | None = None) -> None:
    """Step the notifier, moving the fake clock over every wait, until the outbox is empty."""
    for _ in range(1000):
        if (until or (lambda: notifier.pending() == 0))():
            return
        wait = notifier.step()
        if wait > 0:
            clock.advance(wait)
    raise AssertionError(f"still {notifier.pending()} queued after 1000 steps")


TOKEN = "xoxb-test-token"


@pytest.fixture
def local_slack_options() -> dict[str, Any]:
    return {"token": TOKEN, "channels": {"mlops": "C0MLOPS", "other": "C0OTHER"}}


@pytest.fixture
def slack(local_slack: LocalSlack) -> LocalSlack:
    return local_slack


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
