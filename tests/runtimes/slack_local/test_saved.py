"""The workspace kept in a file: restored after a restart, bounded, safe with two writers at once."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from slack_sdk.errors import SlackApiError

from runtimes.slack_local import LocalSlack, saved
from runtimes.slack_local.saved import REVISIONS_PER_MESSAGE
from tests.runtimes.terminal.cards import card

TOKEN = "xoxb-saved-test"


def saved_slack(path: Path, channels: tuple[str, ...] = ("mlops",)) -> LocalSlack:
    return LocalSlack(token=TOKEN, channels=channels, state_file=path)


def test_messages_threads_edits_and_ephemerals_come_back_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    with saved_slack(path) as first:
        client = first.web_client()
        posted = client.chat_postMessage(channel="#mlops", text="Model v1", blocks=card(1))
        client.chat_postMessage(channel="#mlops", text="Approved v1", thread_ts=posted["ts"])
        client.chat_update(channel=posted["channel"], ts=posted["ts"], text="Model v1 approved", blocks=[])
        client.chat_postEphemeral(channel="#mlops", user="UBOB", text="only bob")
        gone = client.chat_postMessage(channel="#mlops", text="deleted later")
        client.chat_delete(channel=gone["channel"], ts=gone["ts"])
    with saved_slack(path, channels=("other",)) as second:
        card_msg = second.message(posted["channel"], posted["ts"])
        assert card_msg is not None and card_msg.number == 1
        assert card_msg.text == "Model v1 approved" and card_msg.blocks == []
        assert card_msg.earlier_texts == ("Model v1",)
        assert [m.text for m in second.replies("#mlops", posted["ts"])] == ["Approved v1"]
        assert [m.text for m in second.messages(visible_to="UBOB") if m.ephemeral_to] == ["only bob"]
        assert second.messages(visible_to="UALICE")[-1].text == "Approved v1"  # bob's is not alice's
        assert second.channel_id("#mlops") == posted["channel"]  # the earlier channel is still there
        # the card is updated in place, and numbering carries on after the last number given
        client = second.web_client()
        client.chat_update(channel=posted["channel"], ts=posted["ts"], text="Model v1 in production")
        after = client.chat_postMessage(channel="#mlops", text="next")
        newest = second.message(after["channel"], after["ts"])
        assert newest is not None and newest.number == 5
        assert float(after["ts"]) > float(gone["ts"])
    with saved_slack(path) as third:
        again = third.message(posted["channel"], posted["ts"])
        assert again is not None and again.text == "Model v1 in production" and again.revision == 2
        # a deleted message stays deleted: updating it fails as in Slack
        with pytest.raises(SlackApiError) as err:
            third.web_client().chat_update(channel=gone["channel"], ts=gone["ts"], text="back?")
        assert err.value.response["error"] == "message_not_found"


def test_in_memory_by_default(tmp_path: Path) -> None:
    with LocalSlack(token=TOKEN, home=tmp_path) as slack:
        slack.web_client().chat_postMessage(channel="#mlops", text="hello")
        assert slack.state_file is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["users.json"]


def test_the_file_keeps_the_newest_messages_of_each_channel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "chat.db"
    monkeypatch.setattr(saved, "MESSAGES_PER_CHANNEL", 3)  # a small bound, to see it work
    with saved_slack(path) as slack:
        client = slack.web_client()
        first = client.chat_postMessage(channel="#mlops", text="m0")
        for i in range(1, 6):
            client.chat_update(channel=first["channel"], ts=first["ts"], text=f"m0 edit {i}")
        for i in range(1, 6):
            client.chat_postMessage(channel="#mlops", text=f"m{i}")
        client.chat_postMessage(channel="UBOB", text="a DM")  # another channel, its own bound
    with saved_slack(path) as restarted:
        assert [m.text for m in restarted.messages("#mlops")] == ["m3", "m4", "m5"]
        assert [m.number for m in restarted.messages("#mlops")] == [4, 5, 6]
        assert [m.text for m in restarted.messages("UBOB")] == ["a DM"]
    rows = sqlite3.connect(path).execute("SELECT count(*) FROM messages").fetchone()[0]
    assert rows == 4


def test_a_message_keeps_its_newest_revisions(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    with saved_slack(path) as slack:
        client = slack.web_client()
        posted = client.chat_postMessage(channel="#mlops", text="r0")
        for i in range(1, REVISIONS_PER_MESSAGE + 6):
            client.chat_update(channel=posted["channel"], ts=posted["ts"], text=f"r{i}")
    with saved_slack(path) as restarted:
        msg = restarted.message(posted["channel"], posted["ts"])
        assert msg is not None and msg.text == f"r{REVISIONS_PER_MESSAGE + 5}"
        assert len(msg.history) == REVISIONS_PER_MESSAGE
        assert msg.earlier_texts[-1] == f"r{REVISIONS_PER_MESSAGE + 4}"


def test_two_workspaces_on_one_file_write_at_once_without_losing_or_sharing_anything(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    per_writer = 40
    start = threading.Barrier(2)
    with saved_slack(path) as one, saved_slack(path) as two:
        posted: dict[str, list[str]] = {"one": [], "two": []}

        def write(name: str, slack: LocalSlack) -> None:
            client = slack.web_client()
            start.wait(timeout=30)
            for i in range(per_writer):
                reply = client.chat_postMessage(channel="#mlops", text=f"{name} {i}")
                client.chat_update(channel=reply["channel"], ts=reply["ts"], text=f"{name} {i} edited")
                posted[name].append(reply["ts"])

        threads = [threading.Thread(target=write, args=item) for item in (("one", one), ("two", two))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    with saved_slack(path) as merged:
        msgs = merged.messages("#mlops")
    assert len(msgs) == 2 * per_writer
    assert sorted(m.number for m in msgs) == list(range(1, 2 * per_writer + 1))  # each #N given once
    assert len({m.ts for m in msgs}) == 2 * per_writer  # and each ts
    assert all(m.text.endswith(" edited") for m in msgs)
    assert {m.ts for m in msgs} == set(posted["one"]) | set(posted["two"])


def test_a_damaged_file_is_named_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ValueError, match=r"chat\.db is not a valid SQLite database .*move it aside"):
        saved_slack(path)


def test_a_failed_write_fails_the_call_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    with saved_slack(path) as slack:
        client = slack.web_client()
        posted = client.chat_postMessage(channel="#mlops", text="kept")
        slack.close_state()  # the file can no longer be written
        with pytest.raises(SlackApiError) as err:
            client.chat_update(channel=posted["channel"], ts=posted["ts"], text="lost")
        assert err.value.response["error"] == "internal_error"
        msg = slack.message(posted["channel"], posted["ts"])
        assert msg is not None and msg.text == "kept"
