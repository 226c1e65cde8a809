"""Poison messages: bounded retries, a dead letter, a notice in the thread and a metric; the rest flows.

The notifier runs on a fake clock and is driven step by step (``Notifier.step``): backoff and pacing
take no real time, and nothing waits on a sleep.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.http_retry import ConnectionErrorRetryHandler, FixedValueRetryIntervalCalculator

from bot.notify import NS_OUTBOX, Notifier
from bot.notify.deadletter import classify, dead_letters, describe, notice_text
from bot.store.sqlite import SQLiteStore
from runtimes.slack_local import Call, Fault, LocalSlack
from tests.bot.conftest import FakeClock
from tests.bot.notify.conftest import TOKEN, blocks, closing_notifiers, drain

ATTEMPTS = 4


@pytest.fixture
def make(slack: LocalSlack, clock: FakeClock, tmp_path: Path) -> Iterator[Callable[..., Notifier]]:
    """Notifiers on the production pacing defaults, the fake clock and one store file; no worker."""
    with closing_notifiers() as keep:

        def build(**kwargs: Any) -> Notifier:
            store = SQLiteStore(tmp_path / "bot.db", clock=clock)
            # slack_sdk's own reconnect, as Bolt's client has it, minus its real-time pause
            reconnect = ConnectionErrorRetryHandler(
                interval_calculator=FixedValueRetryIntervalCalculator(0.0)
            )
            client = WebClient(token=TOKEN, base_url=slack.api_url, timeout=5, retry_handlers=[reconnect])
            options: dict[str, Any] = {"start_worker": False, "max_attempts": ATTEMPTS, "clock": clock}
            notifier = Notifier(client, store, "#mlops", **{**options, **kwargs})
            return keep(notifier, store)

        yield build


def thread(slack: LocalSlack, parent_text: str) -> list[str]:
    (parent,) = slack.by_text(parent_text)
    return [m.text for m in slack.public() if m.thread_ts == parent.ts]


def attempts_at(slack: LocalSlack, needle: str) -> list[Call]:
    return [c for c in slack.calls() if needle in str(c.args.get("text", ""))]


def test_poison_messages_are_dead_lettered_and_the_rest_keeps_flowing(
    slack: LocalSlack, make: Callable[..., Notifier], clock: FakeClock
) -> None:
    slack.refuse("POISON-5XX", Fault(status=503))  # transient, for as long as Slack runs
    slack.refuse("POISON-BLOCKS", Fault(status=200, error="invalid_blocks"))  # permanent
    notifier = make(backoff_base=10.0)
    notifier.upsert("run:1", "run 1", blocks("run 1"))
    notifier.reply("run:1", "r1 a")
    notifier.reply("run:1", "POISON-5XX <!channel> & co")
    notifier.reply("run:1", "r1 c")
    notifier.upsert("run:2", "run 2", blocks("run 2"))
    notifier.reply("run:2", "r2 a")
    notifier.upsert("card:v7", "POISON-BLOCKS", blocks("card"), thread_key="run:2")
    notifier.reply("run:2", "r2 b")
    notifier.upsert("run:3", "run 3", blocks("run 3"))
    notifier.reply("run:3", "r3 a")

    drain(notifier, clock)

    # the other threads did not wait for the poison message's retries
    poison = attempts_at(slack, "POISON-5XX")
    assert [c.status for c in poison] == [503] * ATTEMPTS
    order = [c.args["text"] for c in slack.calls() if c.method.startswith("chat.")]
    last_try = len(order) - 1 - order[::-1].index(poison[-1].args["text"])
    assert {"run 2", "r2 a", "r2 b", "run 3", "r3 a"} <= set(order[:last_try])
    # each thread keeps its order; a plain notice stands where the lost message would have been
    assert thread(slack, "run 1") == ["r1 a", notice_text("http_503"), "r1 c"]
    assert thread(slack, "run 2") == ["r2 a", notice_text("invalid_blocks"), "r2 b"]
    assert thread(slack, "run 3") == ["r3 a"]
    (notice,) = slack.by_text(notice_text("http_503"))
    assert notice.blocks == [] and "<" not in notice.text and "POISON" not in notice.text
    assert len(attempts_at(slack, "POISON-BLOCKS")) == 1  # a permanent error is not retried

    dead = {v.get("key") or v["text"]: v for _, v in dead_letters(notifier.store)}
    assert set(dead) == {"POISON-5XX <!channel> & co", "card:v7"}
    assert dead["POISON-5XX <!channel> & co"]["error"] == "http_503"
    assert dead["POISON-5XX <!channel> & co"]["attempts"] == ATTEMPTS
    assert (dead["card:v7"]["error"], dead["card:v7"]["attempts"]) == ("invalid_blocks", 1)
    assert "invalid_blocks after 1 attempt" in describe("k", dead["card:v7"])
    assert notifier.metrics.count("retries_exhausted") == 1
    assert notifier.metrics.count("permanent") == 1
    assert notifier.ref("card:v7") is None

    # a new process on the same store resurrects neither, and still lists them
    calls = len(slack.calls())
    notifier.close(timeout=0)
    again = make()
    again.reply("run:1", "after restart")
    drain(again, clock)
    assert [c.args["text"] for c in slack.calls()[calls:]] == ["after restart"]
    assert len(dead_letters(again.store)) == 2
    assert again.metrics.count("retries_exhausted") == 0  # a fresh process counts its own


def test_attempts_survive_a_restart(
    slack: LocalSlack, make: Callable[..., Notifier], clock: FakeClock
) -> None:
    slack.refuse("flaky", Fault(drop=True))  # the connection drops: a transient network error
    first = make()
    first.upsert("card:v1", "flaky card", blocks("flaky"))
    drain(first, clock, until=lambda: len(attempts_at(slack, "flaky")) >= 2)
    before = len(attempts_at(slack, "flaky"))
    (_, entry), *_ = first.store.query(NS_OUTBOX)
    assert 1 <= entry["attempts"] < ATTEMPTS
    first.close(timeout=0)

    second = make()
    drain(second, clock)
    # the bound holds across the restart: only the attempts left were made
    assert [v["key"] for _, v in dead_letters(second.store)] == ["card:v1"]
    assert second.metrics.count("retries_exhausted") == 1
    assert slack.by_text(notice_text("ConnectionResetError")) or slack.by_text(
        notice_text("RemoteDisconnected")
    )
    # slack_sdk's client reconnects once after a dropped connection: two calls per attempt, all told
    # ATTEMPTS attempts (a restart that forgot the count would have made ATTEMPTS more)
    assert before == 2 * entry["attempts"]
    assert len(attempts_at(slack, "flaky")) == 2 * ATTEMPTS
    assert [v["attempts"] for _, v in dead_letters(second.store)] == [ATTEMPTS]


def test_rate_limited_message_is_paused_then_bounded(
    slack: LocalSlack, make: Callable[..., Notifier], clock: FakeClock
) -> None:
    slack.refuse("slowly", Fault(status=429, error="ratelimited", retry_after=30))
    notifier = make()
    notifier.upsert("card:v2", "slowly", blocks("slowly"))
    start = clock.monotonic()
    drain(notifier, clock)
    limited = attempts_at(slack, "slowly")
    assert [c.status for c in limited] == [429] * ATTEMPTS
    assert clock.monotonic() - start >= 30 * (ATTEMPTS - 1)  # Retry-After was honoured between attempts
    assert [v["error"] for _, v in dead_letters(notifier.store)] == ["ratelimited"]
    assert slack.by_text(notice_text("ratelimited"))


def test_a_notice_that_fails_is_not_noticed_again(
    slack: LocalSlack, make: Callable[..., Notifier], clock: FakeClock
) -> None:
    slack.refuse("could not post", Fault(status=503))
    slack.refuse("doomed", Fault(status=200, error="msg_too_long"))
    notifier = make()
    notifier.upsert("card:v3", "doomed", blocks("doomed"))
    drain(notifier, clock)
    dead = [v for _, v in dead_letters(notifier.store)]
    assert sorted(bool(v.get("notice")) for v in dead) == [False, True]
    assert len(attempts_at(slack, "could not post")) == ATTEMPTS
    assert notifier.pending() == 0
    assert notifier.metrics.count("permanent") == 1
    assert notifier.metrics.count("retries_exhausted") == 1


@pytest.mark.parametrize(
    ("status", "error", "verdict"),
    [
        (429, "ratelimited", "rate_limited"),
        (200, "ratelimited", "rate_limited"),
        (503, "", "transient"),
        (200, "internal_error", "transient"),
        (200, "invalid_auth", "auth"),
        (200, "invalid_blocks", "permanent"),
        (200, "msg_too_long", "permanent"),
        (200, "channel_not_found", "permanent"),
        (200, "not_in_channel", "permanent"),
        (200, "is_archived", "permanent"),
        (200, "invalid_arguments", "permanent"),
        (200, "something_new", "permanent"),
    ],
)
def test_classify(status: int, error: str, verdict: str) -> None:
    assert classify(status, error) == verdict


def test_notice_text_is_escaped_and_short() -> None:
    text = notice_text("<!here> " + "x" * 200)
    assert "<" not in text and len(text) < 130
    assert text.startswith("⚠️ could not post an update to Slack (&lt;!here&gt;")


def test_max_attempts_is_checked(make: Callable[..., Notifier]) -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        make(max_attempts=0)


def test_cli_lists_dead_letters(
    slack: LocalSlack,
    make: Callable[..., Notifier],
    clock: FakeClock,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from runtimes.cli import main

    monkeypatch.delenv("MLOPS_STORE_PATH", raising=False)
    monkeypatch.setenv("MLOPS_STORE", "sqlite")
    monkeypatch.setenv("MLOPS_BACKEND", "local")
    assert main(["dead-letters", "--home", str(tmp_path)]) == 0
    assert "No dead letters" in capsys.readouterr().out
    slack.refuse("too long", Fault(status=200, error="msg_too_long"))
    notifier = make()  # the store file is MLOPS_HOME/bot.db
    notifier.upsert("card:v9", "too long", blocks("too long"))
    drain(notifier, clock)
    assert main(["dead-letters", "5", "--home", str(tmp_path)]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert "card:v9  msg_too_long after 1 attempt  'too long'" in line
    assert main(["dead-letters", "--json", "--home", str(tmp_path)]) == 0
    (doc,) = json.loads(capsys.readouterr().out)
    assert (doc["key"], doc["error"], doc["attempts"]) == ("card:v9", "msg_too_long", 1)
    assert main(["dead-letters", "0", "--home", str(tmp_path)]) == 2
    assert "from 1 to 1000" in capsys.readouterr().err
