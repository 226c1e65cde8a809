"""One message is written at most once per interval, whatever path writes it.

Each test drives notifiers on a fake clock (``step``; no worker thread, no sleeping) through a client
that times every post and update on that clock: a call takes ``DELAY`` seconds of test time and Slack
may receive it at any moment within. Whatever the path (a burst from several threads, a lost answer
and its retry, a rate limit, a post then its first update, a restart, a lookup of a lost post, a wall
clock that drifts or steps back), the next write of a message must start at least an interval after
the previous one *ended*, so Slack receives them at least that far apart.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from slack_sdk import WebClient

from bot.notify import Notifier
from bot.notify.pacing import Pacing
from bot.store.sqlite import SQLiteStore
from runtimes.slack_local import Fault, LocalSlack
from tests.bot.conftest import FakeClock
from tests.bot.notify.conftest import TOKEN, blocks, closing_notifiers, drain

INTERVAL = 1.0
#: how long each post or update takes, in test time
DELAY = 0.2
LOST = Fault(drop=True, accept=True)  # Slack applies the call; its answer never arrives

#: Slack's pacing far above what one message may use, and quick retries: only the interval holds writes back
OPTIONS: dict[str, Any] = {
    "start_worker": False,
    "message_interval": INTERVAL,
    "post_rate": 100.0,
    "post_burst": 50,
    "update_rate": 100.0,
    "update_burst": 50,
    "backoff_base": 0.01,
    "backoff_max": 0.02,
}


class DriftingClock(FakeClock):
    """A fake clock whose wall time runs at ``wall_rate`` of monotonic time, and can be stepped back."""

    def __init__(self, wall_rate: float = 1.0) -> None:
        super().__init__()
        object.__setattr__(self, "wall_rate", wall_rate)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"time only moves forward, got {seconds}")
        with self._lock:  # type: ignore[attr-defined]
            self._state[0] += seconds * self.wall_rate  # type: ignore[attr-defined]
            self._state[1] += seconds  # type: ignore[attr-defined]

    def step_wall_back(self, seconds: float) -> None:
        with self._lock:  # type: ignore[attr-defined]
            self._state[0] -= seconds  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Write:
    """One post or update of a message (named by its text's first word), timed on the test's clock."""

    key: str
    method: str
    start: tuple[float, float]  # (monotonic, wall) when the call left
    end: tuple[float, float]  # when its answer, or its failure, came back


class TimedClient:
    """The notifier's Web API client; each post and update takes ``DELAY`` of the test's clock."""

    def __init__(self, slack: LocalSlack, clock: FakeClock) -> None:
        self.client = WebClient(token=TOKEN, base_url=slack.api_url, timeout=5, retry_handlers=[])
        self.clock = clock
        self.writes: list[Write] = []

    def _now(self) -> tuple[float, float]:
        return self.clock.monotonic(), self.clock.wall()

    def __getattr__(self, name: str) -> Any:
        call = getattr(self.client, name)
        if name not in {"chat_postMessage", "chat_update"}:
            return call

        def timed(**kwargs: Any) -> Any:
            start = self._now()
            self.clock.advance(DELAY / 2)
            try:
                return call(**kwargs)
            finally:
                self.clock.advance(DELAY / 2)
                self.writes.append(Write(str(kwargs["text"]).split()[0], name, start, self._now()))

        return timed


def gaps(writes: list[Write], key: str, clock: int) -> list[float]:
    """Seconds from the end of each write of ``key`` to the start of the next, on one clock (0: monotonic)."""
    mine = [w for w in writes if w.key == key]
    return [b.start[clock] - a.end[clock] for a, b in itertools.pairwise(mine)]


def assert_paced(writes: list[Write], *keys: str, clock: int = 0) -> None:
    for key in keys:
        found = gaps(writes, key, clock)
        # 1 µs: the float steps of a wall clock near 1.7e9 s
        assert all(gap >= INTERVAL - 1e-6 for gap in found), (key, found)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "bot.db"


@pytest.fixture
def timed(slack: LocalSlack, clock: FakeClock) -> TimedClient:
    return TimedClient(slack, clock)


@pytest.fixture
def make(timed: TimedClient, db: Path, clock: FakeClock) -> Iterator[Callable[..., Notifier]]:
    """Builds notifiers on the fake clock, each with its own store connection (like separate processes)."""
    with closing_notifiers() as keep:

        def build(**kwargs: Any) -> Notifier:
            store = SQLiteStore(db, clock=clock)
            notifier = Notifier(cast(Any, timed), store, "C0MLOPS", **{**OPTIONS, "clock": clock, **kwargs})
            return keep(notifier, store)

        yield build


def shown(slack: LocalSlack, notifier: Notifier, key: str) -> str:
    ref = notifier.ref(key)
    assert ref is not None
    message = slack.message(*ref)
    assert message is not None
    return message.text


def test_upserts_from_several_threads_write_each_message_once_an_interval(
    slack: LocalSlack, make: Callable[..., Notifier], timed: TimedClient, clock: FakeClock
) -> None:
    notifier = make()
    keys = ("a", "b", "c")
    rounds = 40
    queued = threading.Barrier(len(keys) + 1)  # every thread has queued this round's states
    stepped = threading.Barrier(len(keys) + 1)  # the test has stepped and moved its clock

    def storm(key: str) -> None:
        for i in range(rounds):
            for j in range(5):  # each thread queues states of its message and of a shared one
                notifier.upsert(f"run:{key}", f"{key} {i}", blocks(f"{key} {i}.{j}"))
            notifier.upsert("run:shared", f"shared {key}{i}", blocks(f"shared {key}{i}"))
            queued.wait(10)
            stepped.wait(10)

    threads = [threading.Thread(target=storm, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for _ in range(rounds):
        queued.wait(10)
        while (wait := notifier.step()) <= 0:
            pass
        clock.advance(min(wait, 0.1))
        stepped.wait(10)
    for thread in threads:
        thread.join(10)
    drain(notifier, clock)

    assert_paced(timed.writes, *keys, "shared")
    for key in keys:
        assert len([w for w in timed.writes if w.key == key]) >= 3  # it changed during the storm
        assert shown(slack, notifier, f"run:{key}") == f"{key} {rounds - 1}"
    assert shown(slack, notifier, "run:shared") in {f"shared {key}{rounds - 1}" for key in keys}
    assert notifier.dead_letters() == []


@pytest.mark.parametrize(
    "fault",
    [LOST, Fault(status=503), Fault.answering(429, retry_after=0)],
    ids=["answer-lost-after-slack-applied-it", "server-error", "rate-limited-retry-now"],
)
def test_a_failed_update_and_its_retry_are_an_interval_apart(
    slack: LocalSlack, make: Callable[..., Notifier], timed: TimedClient, clock: FakeClock, fault: Fault
) -> None:
    notifier = make()
    notifier.upsert("run:a", "a 0", blocks("a 0"))
    drain(notifier, clock)
    slack.inject("chat.update", fault, fault)
    notifier.upsert("run:a", "a 1", blocks("a 1"))
    drain(notifier, clock)

    updates = [w for w in timed.writes if w.method == "chat_update"]
    assert len(updates) == 3  # two failed attempts, then the one answered
    assert_paced(timed.writes, "a")
    assert shown(slack, notifier, "run:a") == "a 1"
    assert notifier.dead_letters() == []


def test_the_first_update_waits_an_interval_after_the_post(
    slack: LocalSlack, make: Callable[..., Notifier], timed: TimedClient, clock: FakeClock
) -> None:
    notifier = make()
    notifier.upsert("run:a", "a 0", blocks("a 0"))
    assert notifier.step() == 0.0  # the post
    notifier.upsert("run:a", "a 1", blocks("a 1"))
    wait = notifier.step()

    assert wait == pytest.approx(INTERVAL)  # counted from the post's answer
    assert [w.method for w in timed.writes] == ["chat_postMessage"]
    drain(notifier, clock)
    assert [w.method for w in timed.writes] == ["chat_postMessage", "chat_update"]
    assert_paced(timed.writes, "a")


def test_a_new_process_keeps_the_interval_of_the_one_before(
    slack: LocalSlack, make: Callable[..., Notifier], timed: TimedClient, clock: FakeClock
) -> None:
    first = make()
    first.upsert("run:a", "a 0", blocks("a 0"))
    drain(first, clock)
    clock.advance(INTERVAL)
    slack.inject("chat.update", LOST)
    first.upsert("run:a", "a 1", blocks("a 1"))
    first.step()  # Slack applies the update; the answer is lost, and the process stops
    first.close(timeout=0)

    second = make()  # its own memory is empty: the interval comes from the store
    second.upsert("run:a", "a 2", blocks("a 2"))
    drain(second, clock)

    assert [w.method for w in timed.writes] == ["chat_postMessage", "chat_update", "chat_update"]
    assert_paced(timed.writes, "a")
    assert shown(slack, second, "run:a") == "a 2"


def test_a_post_found_after_its_answer_was_lost_is_updated_an_interval_later(
    slack: LocalSlack, make: Callable[..., Notifier], timed: TimedClient, clock: FakeClock
) -> None:
    first = make()
    slack.inject("chat.postMessage", LOST)
    first.upsert("run:a", "a 0", blocks("a 0"))
    first.step()  # Slack has the post; this process never learns its ts, and stops
    first.close(timeout=0)

    second = make()
    second.upsert("run:a", "a 1", blocks("a 1"))
    drain(second, clock)

    assert [w.method for w in timed.writes] == ["chat_postMessage", "chat_update"]  # found, not posted again
    assert len(slack.calls("conversations.history")) == 1
    assert_paced(timed.writes, "a")
    assert shown(slack, second, "run:a") == "a 1"


def test_the_interval_holds_on_a_wall_clock_that_runs_slow(slack: LocalSlack, db: Path) -> None:
    clock = DriftingClock(wall_rate=0.9)  # Slack stamps messages on the wall clock
    timed = TimedClient(slack, clock)
    store = SQLiteStore(db, clock=clock)
    notifier = Notifier(cast(Any, timed), store, "C0MLOPS", **{**OPTIONS, "clock": clock})
    try:
        for i in range(5):
            notifier.upsert("run:a", f"a {i}", blocks(f"a {i}"))
            drain(notifier, clock)
        assert len(timed.writes) == 5
        assert_paced(timed.writes, "a", clock=0)
        assert_paced(timed.writes, "a", clock=1)
    finally:
        notifier.close(timeout=0)
        store.close()


def test_a_wall_clock_stepped_back_delays_a_message_by_one_interval_at_most(
    slack: LocalSlack, db: Path
) -> None:
    clock = DriftingClock()
    timed = TimedClient(slack, clock)
    store = SQLiteStore(db, clock=clock)
    notifier = Notifier(cast(Any, timed), store, "C0MLOPS", **{**OPTIONS, "clock": clock})
    try:
        notifier.upsert("run:a", "a 0", blocks("a 0"))
        drain(notifier, clock)
        clock.step_wall_back(3600.0)
        notifier.upsert("run:a", "a 1", blocks("a 1"))
        drain(notifier, clock)

        (gap,) = gaps(timed.writes, "a", 0)
        assert INTERVAL - 1e-9 <= gap <= 2 * INTERVAL + 1e-6
        assert shown(slack, notifier, "run:a") == "a 1"
    finally:
        notifier.close(timeout=0)
        store.close()


def test_only_messages_written_lately_are_remembered() -> None:
    clock = FakeClock()
    pacing = Pacing(
        clock,
        post_rate=1.0,
        post_burst=1,
        update_rate=1.0,
        update_burst=1,
        message_interval=INTERVAL,
        backoff_base=1.0,
        backoff_max=1.0,
    )
    for i in range(10_000):
        pacing.sent(f"run:{i}", clock.monotonic())
        clock.advance(0.5)
    assert pacing.recent_messages() <= 5  # two intervals' worth, not 10,000
    assert pacing.message_wait("run:9999", clock.monotonic()) == pytest.approx(INTERVAL - 0.5)
    assert pacing.message_wait("run:0", clock.monotonic()) == 0.0
