"""The notifier against a recording Slack Web API over real HTTP on 127.0.0.1.

Pacing is checked on a fake clock, stepping the notifier (``Schedule``): the schedule is asserted in
test time, never measured. The tests of the worker thread run on real time and assert only what
arrived, waiting for it with ``flush`` (a condition with a generous deadline).
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.notify import NS_MESSAGE, NS_OUTBOX, NS_OUTBOX_DEAD, Notifier
from bot.store.sqlite import SQLiteStore
from ml.clock import SYSTEM_CLOCK
from ml.sagemaker.clients import aws_session
from runtimes.slack_local import Fault, LocalSlack, Message, with_generated_ids
from tests.bot.conftest import FakeClock
from tests.bot.notify.conftest import TOKEN, Schedule, blocks, closing_notifiers

#: the Web API methods the notifier calls
WRITES = ("chat.postMessage", "chat.update", "conversations.history", "conversations.replies")

#: fast pacing for the worker's tests; the production defaults are 1 post/s per channel and 50 updates/min
FAST: dict[str, Any] = {
    "post_rate": 200.0,
    "post_burst": 20,
    "update_rate": 200.0,
    "update_burst": 20,
    "backoff_base": 0.01,
    "backoff_max": 0.2,
    "idle_poll": 0.05,
    "lease_seconds": 3,
}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "bot.db"


@pytest.fixture
def make(slack: LocalSlack, db: Path, clock: FakeClock) -> Iterator[Callable[..., Notifier]]:
    """Builds notifiers (each on its own store connection, like separate processes); closes them.

    One with a worker thread runs on real time; one without (driven by ``step`` or an inline
    ``flush``) runs on the test's fake clock, so its waits take no time.
    """
    with closing_notifiers() as keep:

        def build(channel: str = "#mlops", token: str = TOKEN, **kwargs: Any) -> Notifier:
            time_source = clock if kwargs.get("start_worker") is False else SYSTEM_CLOCK
            store = SQLiteStore(db, clock=time_source)
            client = WebClient(token=token, base_url=slack.api_url, timeout=5)
            notifier = Notifier(client, store, channel, **{**FAST, "clock": time_source, **kwargs})
            return keep(notifier, store)

        yield build


def thread_of(slack: LocalSlack, parent_text: str) -> tuple[Message, list[str]]:
    (parent,) = slack.by_text(parent_text)
    return parent, [m.text for m in slack.public() if m.thread_ts == parent.ts]


def test_calls_return_at_once_and_everything_arrives_in_order(
    slack: LocalSlack, make: Callable[..., Notifier]
) -> None:
    hold = slack.hold("chat.postMessage", "chat.update")  # a Slack that does not answer must not block
    notifier = make(start_worker=False)
    notifier.upsert("run:1", "run 1 started", blocks("run 1 started"))
    for i in range(5):
        notifier.reply("run:1", f"run 1 step {i}")
    notifier.upsert("card:v1", "card v1", blocks("card v1"), thread_key="run:1")
    notifier.upsert("run:2", "run 2 started", blocks("run 2 started"))
    notifier.reply("run:2", "run 2 step 0", blocks("run 2 step 0"))
    assert slack.calls() == []  # queued only: Slack, which answers nothing now, was not called
    assert notifier.pending() == 9
    assert notifier.ref("run:1") is None

    hold.release.set()
    notifier.start()
    assert notifier.flush(60)
    assert notifier.pending() == 0

    parent, replies = thread_of(slack, "run 1 started")
    assert replies == [f"run 1 step {i}" for i in range(5)] + ["card v1"]
    assert notifier.ref("run:1") == ("C0MLOPS", parent.ts)
    card = notifier.ref("card:v1")
    assert card is not None and slack.message(*card).thread_ts == parent.ts
    _, replies2 = thread_of(slack, "run 2 started")
    assert replies2 == ["run 2 step 0"]
    assert slack.by_text("run 2 step 0")[0].blocks == with_generated_ids(blocks("run 2 step 0"))
    assert len(slack.ok_calls("chat.postMessage")) == 9


def test_reply_queued_before_its_parent_waits_for_the_parent(
    slack: LocalSlack, make: Callable[..., Notifier]
) -> None:
    notifier = make(start_worker=False)
    notifier.reply("card:v3", "approved by bob")
    notifier.upsert("other", "unrelated", blocks("unrelated"))
    notifier.upsert("card:v3", "card v3", blocks("card v3"))
    notifier.reply("card:v3", "deployed")
    # a message created inside a thread: replies to it go to the thread's root
    notifier.upsert("step:v3", "step", blocks("step"), thread_key="card:v3")
    notifier.reply("step:v3", "step reply")
    assert notifier.flush(10)  # no worker: flush sends in the calling thread
    _, replies = thread_of(slack, "card v3")
    assert replies == ["approved by bob", "deployed", "step", "step reply"]
    posted = [c.args["text"] for c in slack.ok_calls("chat.postMessage")]
    assert posted.index("card v3") < posted.index("approved by bob")
    assert slack.by_text("unrelated")[0].thread_ts is None


def test_burst_of_upserts_coalesces_newest_wins(
    slack: LocalSlack, make: Callable[..., Notifier], clock: FakeClock
) -> None:
    notifier = make(start_worker=False, update_rate=5.0, update_burst=1)
    schedule = Schedule(notifier, clock, slack)
    for i in range(50):  # a state every 0.1 s for 5 s, the worker keeping up as they arrive
        notifier.upsert("card:v1", f"state {i}", blocks(f"state {i}"))
        schedule.catch_up()
        clock.advance(0.1)
    schedule.drain()
    posts = slack.ok_calls("chat.postMessage")
    updates = slack.ok_calls("chat.update")
    assert len(posts) == 1
    # the message changes at most once a second (the default interval): 5 during the burst, then the last
    written = schedule.times("chat.postMessage") + schedule.times("chat.update")
    assert 2 <= len(written) <= 6, [c.args["text"] for c in updates]
    assert all(b - a >= 1.0 - 1e-9 for a, b in itertools.pairwise(written)), written
    ref = notifier.ref("card:v1")
    assert ref is not None
    final = slack.message(*ref)
    assert final.text == "state 49" and final.blocks == with_generated_ids(blocks("state 49"))
    # states only move forward
    seen = [c.args["text"] for c in posts + updates]
    assert seen == sorted(seen, key=lambda t: int(t.split()[1]))

    # the same state again is not sent again; a new state is
    calls = len(slack.calls())
    notifier.upsert("card:v1", "state 49", blocks("state 49"))
    assert notifier.flush(5)
    assert len(slack.calls()) == calls
    notifier.upsert("card:v1", "state 50", blocks("state 50"))
    assert notifier.flush(5)
    assert slack.message(*ref).text == "state 50"
    assert len(slack.ok_calls("chat.postMessage")) == 1


def test_each_message_changes_at_most_once_per_interval(
    slack: LocalSlack, make: Callable[..., Notifier], clock: FakeClock
) -> None:
    notifier = make(start_worker=False, update_rate=100.0, update_burst=50, message_interval=0.3)
    schedule = Schedule(notifier, clock, slack)
    for i in range(40):  # both messages change every 10 ms for 0.4 s
        notifier.upsert("run:a", f"a {i}", blocks(f"a {i}"))
        notifier.upsert("run:b", f"b {i}", blocks(f"b {i}"))
        schedule.catch_up()
        clock.advance(0.01)
    schedule.drain()
    for key in ("a", "b"):
        written = schedule.times("chat.postMessage", key) + schedule.times("chat.update", key)
        assert len(written) >= 3, written  # it did change during the burst, only not every 10 ms
        gaps = [later - earlier for earlier, later in itertools.pairwise(written)]
        assert min(gaps) >= 0.3 - 1e-9, gaps  # the update budget alone would allow 10 ms
        ref = notifier.ref(f"run:{key}")
        assert ref is not None and slack.message(*ref).text == f"{key} 39"


class SlowAnswers:
    """A Web API client whose posts and updates take ``delay`` seconds of the test's clock to answer."""

    def __init__(self, client: WebClient, clock: FakeClock, delay: float) -> None:
        self.client, self.clock, self.delay = client, clock, delay

    def __getattr__(self, name: str) -> Any:
        call = getattr(self.client, name)
        if name not in {"chat_postMessage", "chat_update"}:
            return call

        def slow(**kwargs: Any) -> Any:
            answer = call(**kwargs)
            self.clock.advance(self.delay)
            return answer

        return slow


def test_the_interval_counts_from_slacks_answer_not_from_the_send(
    slack: LocalSlack, db: Path, clock: FakeClock
) -> None:
    store = SQLiteStore(db, clock=clock)
    client = SlowAnswers(WebClient(token=TOKEN, base_url=slack.api_url, timeout=5), clock, delay=0.25)
    options = {**FAST, "clock": clock, "start_worker": False, "message_interval": 0.3}
    notifier = Notifier(client, store, "#mlops", **options)  # type: ignore[arg-type]
    schedule = Schedule(notifier, clock, slack)  # notes the time each call was answered
    try:
        for i in range(12):
            notifier.upsert("run:a", f"a {i}", blocks(f"a {i}"))
            schedule.catch_up()
            clock.advance(0.05)
        schedule.drain()
        answered = schedule.times("chat.postMessage", "a") + schedule.times("chat.update", "a")
        assert len(answered) >= 3, answered
        sends = [at - 0.25 for at in answered]
        # Each update leaves only once the interval has passed since Slack answered the one before.
        assert all(send >= prev + 0.3 - 1e-9 for prev, send in zip(answered, sends[1:], strict=False)), (
            answered
        )
    finally:
        notifier.close(timeout=0)
        store.close()


def test_post_rate_is_paced_per_channel(
    slack: LocalSlack, make: Callable[..., Notifier], clock: FakeClock
) -> None:
    notifier = make(start_worker=False, post_rate=10.0, post_burst=2)
    for i in range(7):
        notifier.upsert(f"k{i}", f"m{i}", blocks(f"m{i}"))
    notifier.reply("k0", "r0")  # a reply goes to the same channel: the same bucket
    schedule = Schedule(notifier, clock, slack)
    schedule.drain()
    at = schedule.times("chat.postMessage")
    # two go at once (the burst), the others one every 0.1 s (10 per second)
    assert [round(t - at[0], 6) for t in at] == [0.0, 0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    assert [c.args["text"] for _, c in schedule.timed] == [f"m{i}" for i in range(7)] + ["r0"]


def test_honours_retry_after(slack: LocalSlack, make: Callable[..., Notifier], clock: FakeClock) -> None:
    notifier = make(start_worker=False)
    notifier.upsert("card:v1", "v1 a", blocks("v1 a"))
    assert notifier.flush(5)
    slack.inject("chat.postMessage", Fault(status=429, error="ratelimited", retry_after=1))
    slack.inject("chat.update", Fault(status=429, error="ratelimited", retry_after=1))
    notifier.upsert("card:v1", "v1 b", blocks("v1 b"))
    notifier.upsert("card:v2", "v2", blocks("v2"))
    notifier.reply("card:v2", "v2 reply")
    schedule = Schedule(notifier, clock, slack)
    schedule.drain()

    def gap(method: str) -> float:
        calls = [(at, c) for at, c in schedule.timed if c.method == method]
        limited = next(at for at, c in calls if c.status == 429)
        retried = next(at for at, c in calls if at > limited and c.ok)
        assert not [c for at, c in calls if limited < at < retried]  # nothing of it went meanwhile
        return retried - limited

    assert gap("chat.postMessage") == pytest.approx(1.0)
    assert gap("chat.update") == pytest.approx(1.0)
    assert [m.text for m in slack.public()] == ["v1 b", "v2", "v2 reply"]
    assert len(slack.ok_calls("chat.postMessage")) == 3


def test_survives_server_errors_and_dropped_connections(
    slack: LocalSlack, make: Callable[..., Notifier]
) -> None:
    slack.set_error_rate(0.3, methods=WRITES, seed=0)
    slack.inject(
        "chat.postMessage", Fault(drop=True), Fault(status=503), Fault(status=200, error="internal_error")
    )
    notifier = make()
    n_threads, n_replies = 6, 8

    def produce(t: int) -> None:
        notifier.upsert(f"run:{t}", f"run {t}", blocks(f"run {t} state 0"))
        for r in range(n_replies):
            notifier.reply(f"run:{t}", f"run {t} reply {r}")
            notifier.upsert(f"run:{t}", f"run {t}", blocks(f"run {t} state {r + 1}"))

    producers = [threading.Thread(target=produce, args=(t,)) for t in range(n_threads)]
    for p in producers:
        p.start()
    for p in producers:
        p.join()
    assert notifier.flush(120), f"{notifier.pending()} still queued"

    assert any(c.status == 500 for c in slack.calls())  # the faults really happened
    texts = Counter(c.args["text"] for c in slack.ok_calls("chat.postMessage"))
    assert all(count == 1 for count in texts.values()), texts  # nothing twice
    for t in range(n_threads):
        parent, replies = thread_of(slack, f"run {t}")
        assert replies == [f"run {t} reply {r}" for r in range(n_replies)]
        assert parent.blocks == with_generated_ids(blocks(f"run {t} state {n_replies}"))
    assert notifier.dead_letters() == []


def test_restart_in_the_middle_loses_and_repeats_nothing(
    slack: LocalSlack, make: Callable[..., Notifier], clock: FakeClock
) -> None:
    first = make(start_worker=False, post_rate=20.0, post_burst=1)
    expected_threads: dict[str, list[str]] = {}
    for t in range(4):
        first.upsert(f"run:{t}", f"run {t}", blocks(f"run {t}"))
        expected_threads[f"run {t}"] = []
        for r in range(5):
            first.reply(f"run:{t}", f"run {t} reply {r}")
            expected_threads[f"run {t}"].append(f"run {t} reply {r}")
    total = 4 * 6
    while len(slack.calls()) < 8:
        clock.advance(first.step())
    first.close(timeout=0)  # stop without flushing, as a deploy or crash would
    left = first.pending()
    assert left == total - 8

    second = make(start_worker=False)  # a new process: new store connection on the same file
    second.upsert("run:0", "run 0 final", blocks("run 0 final"))  # a key the first process created
    second.reply("run:3", "after restart")
    expected_threads["run 3"].append("after restart")
    assert second.flush(60)

    texts = Counter(c.args["text"] for c in slack.ok_calls("chat.postMessage"))
    assert sum(texts.values()) == total + 1
    assert all(count == 1 for count in texts.values()), texts
    for parent_text, want in expected_threads.items():
        parent = next(m for m in slack.public() if parent_text in (m.text, *m.earlier_texts))
        assert [m.text for m in slack.public() if m.thread_ts == parent.ts] == want
    assert slack.by_text("run 0 final")[0].earlier_texts == ("run 0",)  # updated in place, not re-posted


def test_permanent_errors_are_parked_not_retried(
    slack: LocalSlack, make: Callable[..., Notifier], caplog: pytest.LogCaptureFixture
) -> None:
    notifier = make(start_worker=False)
    notifier.upsert("card:bad", "bad card", [{"type": "no-such-block"}])
    notifier.reply("card:bad", "reply to the bad card")
    notifier.upsert("card:good", "good card", blocks("good"))
    with caplog.at_level(logging.ERROR, logger="bot.notify"):
        assert notifier.flush(10)
    dead = notifier.dead_letters()
    assert [(v["key"], v["error"]) for _, v in dead] == [("card:bad", "invalid_blocks")]
    assert "invalid_blocks" in caplog.text and "card:bad" in caplog.text
    assert len([c for c in slack.calls() if c.error == "invalid_blocks"]) == 1
    # the parent never existed, so its reply went to the channel (never dropped)
    assert slack.by_text("reply to the bad card")[0].thread_ts is None
    assert slack.by_text("good card")
    assert notifier.ref("card:bad") is None

    elsewhere = make(channel="#nowhere", start_worker=False)
    elsewhere.upsert("card:x", "lost channel", blocks("x"))
    assert elsewhere.flush(5)
    dead = elsewhere.dead_letters()
    errors = {v["key"]: v["error"] for _, v in dead if not v.get("notice")}
    assert errors == {"card:bad": "invalid_blocks", "card:x": "channel_not_found"}
    # the notice for card:x could not go to the missing channel either: parked once, with no notice of its own
    notices = [v for _, v in dead if v.get("notice")]
    assert [(v["thread_key"], v["error"]) for v in notices] == [("card:x", "channel_not_found")]
    assert elsewhere.pending() == 0


def test_bad_token_pauses_instead_of_parking(
    slack: LocalSlack, make: Callable[..., Notifier], clock: FakeClock
) -> None:
    notifier = make(token="xoxb-revoked", start_worker=False, auth_pause=0.6)
    notifier.upsert("card:v1", "v1", blocks("v1"))
    refused_at = clock.monotonic()
    assert notifier.flush(0.3) is False  # paused for 0.6 s: this flush gives up first
    assert notifier.pending() == 1
    assert notifier.dead_letters() == []
    assert [c.error for c in slack.calls()] == ["invalid_auth"]  # paused, not hammering Slack
    notifier.client.token = TOKEN  # type: ignore[attr-defined]
    assert notifier.flush(5)
    assert clock.monotonic() - refused_at >= 0.6  # it waited out the pause before trying again
    assert [c.error for c in slack.calls()] == ["invalid_auth", None]
    assert slack.by_text("v1")


def test_deleted_message_is_posted_again(slack: LocalSlack, make: Callable[..., Notifier]) -> None:
    notifier = make()
    notifier.upsert("card:v1", "v1 a", blocks("a"))
    assert notifier.flush(60)
    first = notifier.ref("card:v1")
    assert first is not None
    slack.delete_message(*first)
    notifier.upsert("card:v1", "v1 b", blocks("b"))
    assert notifier.flush(60)
    second = notifier.ref("card:v1")
    assert second is not None and second != first
    assert slack.message(*second).text == "v1 b"
    assert notifier.dead_letters() == []


def test_one_drainer_per_store(slack: LocalSlack, make: Callable[..., Notifier]) -> None:
    a, b = make(), make()
    for i in range(10):
        (a if i % 2 else b).upsert(f"k{i}", f"m{i}", blocks(f"m{i}"))
        (b if i % 2 else a).reply(f"k{i}", f"r{i}")
    assert a.flush(60) and b.flush(60)
    texts = Counter(c.args["text"] for c in slack.ok_calls("chat.postMessage"))
    assert texts == Counter([f"m{i}" for i in range(10)] + [f"r{i}" for i in range(10)])
    for i in range(10):
        assert thread_of(slack, f"m{i}")[1] == [f"r{i}"]


def test_outbox_and_references_live_in_the_store(make: Callable[..., Notifier]) -> None:
    notifier = make(start_worker=False)
    notifier.upsert("card:v1", "v1", blocks("v1"), thread_key="run:1")
    notifier.reply("card:v1", "hello")
    rows = notifier.store.query(NS_OUTBOX)
    assert [v["op"] for _, v in rows] == ["upsert", "reply"]
    assert rows[0][0] < rows[1][0]  # time-ordered keys
    assert notifier.flush(5)
    assert notifier.store.query(NS_OUTBOX) == []
    assert notifier.store.query(NS_OUTBOX_DEAD) == []
    ref = notifier.store.get(NS_MESSAGE, "card:v1")
    assert ref is not None and set(ref) >= {"channel", "ts", "hash"}


def test_rejects_bad_arguments(make: Callable[..., Notifier]) -> None:
    notifier = make(start_worker=False)
    with pytest.raises(ValueError, match="message key"):
        notifier.upsert("", "t", [])
    with pytest.raises(ValueError, match="thread_key"):
        notifier.reply("", "t")
    with pytest.raises(TypeError, match="blocks must be a list"):
        notifier.upsert("k", "t", {"type": "section"})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="text must be a string"):
        notifier.reply("k", None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="post_rate"):
        make(post_rate=0)
    assert notifier.pending() == 0


def test_works_on_the_dynamodb_store(slack: LocalSlack) -> None:
    from moto import mock_aws

    from bot.store.dynamodb import DynamoDBStore, create_table

    with mock_aws():
        create_table(aws_session().client("dynamodb", region_name="us-east-1"), "notify-test")
        client = WebClient(token=TOKEN, base_url=slack.api_url, timeout=5)
        first = Notifier(client, DynamoDBStore("notify-test", region="us-east-1"), "#mlops", **FAST)
        first.upsert("card:v1", "v1 a", blocks("a"))
        first.reply("card:v1", "note")
        assert first.flush(60)
        first.close()
        second = Notifier(client, DynamoDBStore("notify-test", region="us-east-1"), "#mlops", **FAST)
        second.upsert("card:v1", "v1 b", blocks("b"))
        assert second.flush(60)
        second.close()
    parent, replies = thread_of(slack, "v1 b")
    assert replies == ["note"] and parent.earlier_texts == ("v1 a",)
    assert len(slack.ok_calls("chat.postMessage")) == 2


def test_created_listeners_hear_of_each_new_message_once_after_it_is_saved(
    slack: LocalSlack, make: Callable[..., Notifier]
) -> None:
    notifier = make()
    heard: list[tuple[str, tuple[str, str] | None]] = []
    notifier.on_created(lambda key: heard.append((key, notifier.ref(key))))

    def broken(key: str) -> None:
        raise RuntimeError("a listener that fails")

    notifier.on_created(broken)
    notifier.upsert("card:v1", "card v1", blocks("card v1"))
    notifier.reply("card:v1", "a reply")  # no key of its own: nobody is told
    assert notifier.flush(60)
    notifier.upsert("card:v1", "card v1, updated", blocks("card v1, updated"))  # an update: not new
    assert notifier.flush(60)
    (card,) = [m for m in slack.top_level() if m.text.startswith("card v1")]
    assert heard == [("card:v1", (card.channel, card.ts))]  # the reference was saved first
    assert card.text == "card v1, updated" and len(slack.thread(card.ts)) == 1  # the failure stopped nothing
