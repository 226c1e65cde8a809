"""A post Slack accepted but whose answer was lost is found by its metadata, not posted twice.

Driven step by step on a fake clock (``Notifier.step``). The fake Slack API can take a post and then
drop the connection (``Fault(drop=True, accept=True)``), which is what a crash or a timeout right after
Slack accepted the post looks like to the notifier. The clients have no connection-error retry
(``retry_handlers=[]``) so that the notifier, not slack_sdk, decides what happens next.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.notify import NS_OUTBOX, Notifier
from bot.notify.recover import EVENT_TYPE
from bot.store.sqlite import SQLiteStore
from runtimes.slack_local import Fault, LocalSlack
from tests.bot.conftest import FakeClock
from tests.bot.notify.conftest import TOKEN, blocks, closing_notifiers, drain

LOST = Fault(drop=True, accept=True)


@pytest.fixture
def make(slack: LocalSlack, clock: FakeClock, tmp_path: Path) -> Iterator[Callable[..., Notifier]]:
    """Notifiers sharing one store file (a restart is a new one), on the fake clock, without a worker."""
    with closing_notifiers() as keep:

        def build(channel: str = "#mlops", **kwargs: Any) -> Notifier:
            store = SQLiteStore(tmp_path / "bot.db", clock=clock)
            client = WebClient(token=TOKEN, base_url=slack.api_url, timeout=5, retry_handlers=[])
            notifier = Notifier(client, store, channel, start_worker=False, clock=clock, **kwargs)
            return keep(notifier, store)

        yield build


def posts_of(slack: LocalSlack, text: str) -> int:
    return len([c for c in slack.ok_calls("chat.postMessage") if c.args.get("text") == text])


def marked(notifier: Notifier) -> list[dict[str, Any]]:
    return [e for _, e in notifier.store.query(NS_OUTBOX) if e.get("sending_at") is not None]


@pytest.mark.parametrize("restart", [False, True], ids=["same-process", "restarted"])
def test_a_lost_reply_is_found_in_the_thread_and_not_posted_again(
    slack: LocalSlack, make: Callable[..., Notifier], clock: FakeClock, restart: bool
) -> None:
    notifier = make()
    notifier.upsert("run:1", "run 1", blocks("run 1"))
    drain(notifier, clock)
    slack.refuse("Promoted v1", LOST)
    notifier.reply("run:1", "Promoted v1 to production")
    notifier.step()  # Slack takes the post; the answer never arrives
    assert posts_of(slack, "Promoted v1 to production") == 1
    (entry,) = marked(notifier)  # the outbox still holds it, marked as maybe sent
    (post,) = slack.ok_calls("chat.postMessage")[-1:]
    assert post.args["metadata"]["event_type"] == EVENT_TYPE
    if restart:
        notifier.close(timeout=0)
        notifier = make()

    drain(notifier, clock)

    assert posts_of(slack, "Promoted v1 to production") == 1
    assert [m.text for m in slack.by_text("Promoted v1 to production")] == ["Promoted v1 to production"]
    (lookup,) = slack.ok_calls("conversations.replies")
    assert lookup.args["ts"] == notifier.ref("run:1")[1]  # type: ignore[index]
    assert notifier.pending() == 0 and notifier.dead_letters() == []
    assert entry["sending_at"] > 0


def test_a_lost_create_is_found_its_ref_saved_and_a_newer_state_becomes_an_update(
    slack: LocalSlack, make: Callable[..., Notifier], clock: FakeClock
) -> None:
    first = make("C0MLOPS")
    slack.refuse("card v1 a", LOST)
    first.upsert("card:v1", "card v1 a", blocks("a"))
    first.step()
    first.upsert("card:v1", "card v1 b", blocks("b"))  # queued while the first state is in doubt
    first.close(timeout=0)

    second = make("C0MLOPS")
    drain(second, clock)

    (message,) = slack.public()
    assert (message.text, message.earlier_texts) == ("card v1 b", ("card v1 a",))
    assert second.ref("card:v1") == ("C0MLOPS", message.ts)
    assert len(slack.ok_calls("chat.postMessage")) == 1 and len(slack.ok_calls("chat.update")) == 1
    (lookup,) = slack.ok_calls("conversations.history")
    assert lookup.args["channel"] == "C0MLOPS" and lookup.args["include_all_metadata"] in (
        True,
        "1",
        "true",
    )
    assert second.pending() == 0


def test_a_post_that_never_reached_slack_is_looked_for_then_posted_once(
    slack: LocalSlack, make: Callable[..., Notifier], clock: FakeClock
) -> None:
    notifier = make()
    notifier.upsert("run:1", "run 1", blocks("run 1"))
    drain(notifier, clock)
    slack.inject("chat.postMessage", Fault(drop=True))  # dropped before Slack did anything
    notifier.reply("run:1", "note")
    notifier.step()
    assert len(marked(notifier)) == 1 and posts_of(slack, "note") == 0

    drain(notifier, clock)

    assert posts_of(slack, "note") == 1
    assert len(slack.ok_calls("conversations.replies")) == 1
    assert notifier.pending() == 0


def test_steady_state_posts_make_no_lookup(
    slack: LocalSlack, make: Callable[..., Notifier], clock: FakeClock
) -> None:
    notifier = make()
    notifier.upsert("run:1", "run 1", blocks("run 1"))
    notifier.reply("run:1", "a")
    notifier.reply("run:1", "b")
    drain(notifier, clock)
    assert [c.method for c in slack.calls()] == ["chat.postMessage"] * 3
    assert all(c.args["metadata"]["event_type"] == EVENT_TYPE for c in slack.calls())
    ids = {c.args["metadata"]["event_payload"]["outbox_id"] for c in slack.calls()}
    assert len(ids) == 3


def test_a_rate_limited_post_is_retried_without_a_lookup(
    slack: LocalSlack, make: Callable[..., Notifier], clock: FakeClock
) -> None:
    notifier = make()
    slack.inject("chat.postMessage", Fault(status=429, error="ratelimited", retry_after=1))
    notifier.upsert("run:1", "run 1", blocks("run 1"))
    notifier.step()
    assert marked(notifier) == []  # a 429 is a clear "not posted"
    drain(notifier, clock)
    assert posts_of(slack, "run 1") == 1
    assert [c.method for c in slack.calls()] == ["chat.postMessage"] * 2


def test_a_failed_lookup_posts_again_and_warns_once(
    slack: LocalSlack, make: Callable[..., Notifier], clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = make(post_burst=10)
    notifier.upsert("run:1", "run 1", blocks("run 1"))
    notifier.upsert("run:2", "run 2", blocks("run 2"))
    drain(notifier, clock)
    slack.inject("conversations.replies", *[Fault(status=200, error="missing_scope")] * 2)
    slack.inject("chat.postMessage", LOST, LOST)
    notifier.reply("run:1", "first")  # two threads: neither waits for the other's retry
    notifier.reply("run:2", "second")
    notifier.step()
    notifier.step()
    assert len(marked(notifier)) == 2

    with caplog.at_level(logging.INFO, logger="bot.notify"):
        drain(notifier, clock)

    # Without history access the outbox is at least once, as before: both are posted again.
    assert posts_of(slack, "first") == 2 and posts_of(slack, "second") == 2
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "channels:history" in r.message]
    assert len(warnings) == 1 and "missing_scope" in warnings[0].message
    assert notifier.pending() == 0


def test_a_channel_named_not_by_id_falls_back_to_posting_after_a_restart(
    slack: LocalSlack, make: Callable[..., Notifier], clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    first = make("#mlops")
    slack.refuse("card", LOST)
    first.upsert("card:v1", "card", blocks("a"))
    first.step()
    first.close(timeout=0)

    second = make("#mlops")
    with caplog.at_level(logging.WARNING, logger="bot.notify"):
        second.step()  # the lookup cannot run: conversations.* take channel IDs only
    assert any("not a channel ID" in r.message for r in caplog.records)
    assert slack.ok_calls("conversations.history") == []
    assert marked(second) == []  # unmarked: the next step posts it again
