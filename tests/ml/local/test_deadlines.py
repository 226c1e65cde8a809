"""The invocation watchdog: one answer per request, whoever comes first; deadlines on an injected clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from ml.local.deadlines import Ticket, Watchdog
from tests.ml.clocks import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def watchdog(clock: ManualClock) -> Iterator[Watchdog]:
    dog = Watchdog(clock.now)
    yield dog
    dog.stop()


def test_a_ticket_settled_in_time_never_expires() -> None:
    expired: list[str] = []
    ticket = Ticket(1, 10.0, lambda: expired.append("timeout"))
    assert ticket.settle()
    assert not ticket.expire()
    assert expired == [] and ticket.settled and not ticket.expired


def test_an_expired_ticket_answers_once_and_refuses_the_late_answer() -> None:
    expired: list[str] = []
    ticket = Ticket(1, 10.0, lambda: expired.append("timeout"))
    assert ticket.expire()
    assert not ticket.expire()
    assert not ticket.settle()
    assert expired == ["timeout"]


def test_a_failing_expiry_still_drops_the_late_answer() -> None:
    def client_gone() -> None:
        raise BrokenPipeError("the client went away")

    ticket = Ticket(1, 10.0, client_gone)
    assert ticket.expire()
    assert not ticket.settle()


def test_the_watchdog_answers_only_invocations_past_their_deadline(
    watchdog: Watchdog, clock: ManualClock
) -> None:
    answered = threading.Event()
    slow = watchdog.watch(60.0, answered.set)
    later = watchdog.watch(120.0, lambda: pytest.fail("expired before its deadline"))
    clock.advance(59.0)
    watchdog.poke()
    assert watchdog.watching == 2  # the watchdog looked again and found nothing due
    clock.advance(1.0)
    watchdog.poke()
    assert answered.wait(10)
    assert slow.expired and not slow.settle()
    assert later.settle()
    watchdog.forget(later)
    assert watchdog.watching == 0


def test_an_earlier_deadline_wakes_a_watchdog_waiting_for_a_later_one() -> None:
    dog = Watchdog(time.monotonic)  # real time: only the new deadline's own notice can wake it in time
    try:
        dog.watch(3600.0, lambda: pytest.fail("expired an hour early"))
        answered = threading.Event()
        dog.watch(0.0, answered.set)
        assert answered.wait(10)
        assert dog.watching == 1
    finally:
        dog.stop()
