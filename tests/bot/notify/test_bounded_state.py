"""State that outsiders can make the bot keep stays bounded: per-key locks, event rows, log lines."""

from __future__ import annotations

import copy
import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

import bot.store.sqlite as sqlite_module
from bot.log_throttle import ThrottledLog
from bot.notify import Notifier
from bot.services import Services, build_services
from bot.settings import Settings
from bot.store.sqlite import SQLiteStore
from handlers import notifications
from handlers.events import dispatch_eventbridge
from runtimes.slack_local import LocalSlack
from tests import paths
from tests.bot.conftest import FakeClock
from tests.bot.notify.conftest import TOKEN

FIXTURE = paths.EVENTS / "eb_pipeline_execution_failed.json"


def test_key_locks_stay_bounded_over_100k_keys() -> None:
    locks = notifications.KeyLocks()
    assert len(locks) == 0
    for i in range(100_000):
        with locks.hold(f"card:v{i}"):
            assert len(locks) == 1
    assert len(locks) == 0

    # while a key is in use, everyone gets its one lock; another key has another lock
    with locks.hold("run:a"):
        lock = locks["run:a"]
        assert lock.locked()
        got: list[threading.Lock] = []
        entered = threading.Event()

        def other() -> None:
            with locks.hold("run:b"):
                got.append(locks["run:b"])
            entered.set()

        threading.Thread(target=other).start()
        assert entered.wait(10)
        assert got and got[0] is not lock
        got.clear()  # the test's own references would keep the entries alive
        del lock
    assert len(locks) == 0


def test_concurrent_users_of_one_key_are_serialized_and_leave_nothing_behind() -> None:
    locks = notifications.KeyLocks()
    inside = 0
    most = 0
    guard = threading.Lock()

    def work(n: int) -> None:
        nonlocal inside, most
        for i in range(2_000):
            key = f"run:{i % 3}"  # three keys shared by all threads
            with locks.hold(key):
                with guard:
                    inside += 1
                    most = max(most, inside)
                    assert len(locks) <= 3
                with guard:
                    inside -= 1

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most <= 3  # never two holders of one key at once
    assert len(locks) == 0


@pytest.fixture
def services(tmp_path: Path, slack: LocalSlack, clock: FakeClock) -> Iterator[Services]:
    settings = Settings(
        mlops_home=tmp_path, mlops_store="sqlite", mlops_backend="local", mlops_store_path=None
    )
    built = build_services(settings, store=SQLiteStore(settings.store_path, clock=clock))
    built.notifier = Notifier(
        WebClient(token=TOKEN, base_url=slack.api_url), built.store, "#mlops", start_worker=False
    )
    yield built
    built.close()


def test_unknown_events_keep_rows_and_log_lines_bounded(
    services: Services,
    slack: LocalSlack,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(notifications, "_unknown", ThrottledLog(notifications.log, 300.0, clock))
    template: dict[str, Any] = json.loads(FIXTURE.read_text())
    events, spacing = 10_000, 30.0  # about 3.5 days of one unknown run's event every 30 s
    assert services.notifier is not None
    with caplog.at_level(logging.WARNING, logger="handlers.notifications"):
        for i in range(events):
            event = copy.deepcopy(template)
            event["id"] = f"evt-{i:05d}"
            arn = f"{event['detail']['pipelineArn']}/execution/unknown{i:05d}"
            event["detail"]["pipelineExecutionArn"] = arn
            assert dispatch_eventbridge(services, services.notifier, event) == "delegated"
            clock.advance(spacing)
    with sqlite3.connect(services.settings.store_path) as db:
        rows = dict(db.execute("SELECT ns, count(*) FROM records GROUP BY ns").fetchall())
    # rows live for a day (EventBridge's longest retry): about 2880 per namespace, never 10k
    window = int(24 * 3600 / spacing) + int(sqlite_module.PURGE_INTERVAL_SECONDS / spacing) + 1
    assert 0 < rows["seen"] <= window
    assert "slack-event" not in rows  # deduplicated once, by event id, where the event arrived
    # one line per five minutes, each saying how many it stands for
    lines = [r for r in caplog.records if r.name == "handlers.notifications"]
    per_line = int(300 / spacing)
    assert len(lines) == events // per_line
    told = len(lines) + sum(int(r.getMessage().split("(and ")[1].split()[0]) for r in lines[1:])
    assert events - told == per_line - 1  # the last ones wait to be counted in the next line
    assert services.notifier.pending() == 0 and slack.calls() == []
    # a redelivery within the day is still recognised
    again = copy.deepcopy(template) | {"id": f"evt-{events - 1:05d}"}
    assert dispatch_eventbridge(services, services.notifier, again) == "duplicate"
