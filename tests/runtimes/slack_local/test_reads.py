"""LocalSlack: message metadata, conversations.history and conversations.replies as Slack serves them."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from runtimes.slack_local import SUPPORTED_METHODS, LocalSlack

META = {"event_type": "mlops_outbox", "event_payload": {"outbox_id": "2026-01-01T00:00:00Z#ab12cd"}}


def error_of(call: Any) -> str:
    with pytest.raises(SlackApiError) as info:
        call()
    return str(info.value.response["error"])


def test_history_is_newest_first_and_metadata_only_on_request(slack: LocalSlack, client: WebClient) -> None:
    cid = slack.channel_id("#mlops")
    first = client.chat_postMessage(channel="#mlops", text="one", metadata=META)
    second = client.chat_postMessage(channel=cid, text="two")
    client.chat_postMessage(channel=cid, text="in thread", thread_ts=first["ts"])

    plain = client.conversations_history(channel=cid)
    assert plain["ok"] is True and plain["has_more"] is False
    assert [m["text"] for m in plain["messages"]] == ["two", "one"]  # replies stay in their thread
    assert all("metadata" not in m for m in plain["messages"])

    full = client.conversations_history(channel=cid, include_all_metadata=True)
    by_text = {m["text"]: m for m in full["messages"]}
    assert by_text["one"]["metadata"] == META
    assert "metadata" not in by_text["two"]

    window = client.conversations_history(channel=cid, oldest=first["ts"], include_all_metadata=True)
    assert [m["ts"] for m in window["messages"]] == [second["ts"]]  # oldest is exclusive
    limited = client.conversations_history(channel=cid, limit=1)
    assert [m["text"] for m in limited["messages"]] == ["two"] and limited["has_more"] is True


def test_replies_are_parent_first_in_order(slack: LocalSlack, client: WebClient) -> None:
    parent = client.chat_postMessage(channel="#mlops", text="parent")
    client.chat_postMessage(channel="#mlops", text="a", thread_ts=parent["ts"], metadata=META)
    client.chat_postMessage(channel="#mlops", text="b", thread_ts=parent["ts"])
    cid = parent["channel"]

    resp = client.conversations_replies(channel=cid, ts=parent["ts"], include_all_metadata=True)
    assert [m["text"] for m in resp["messages"]] == ["parent", "a", "b"]
    assert resp["messages"][1]["metadata"] == META and resp["has_more"] is False
    assert all(m["thread_ts"] == parent["ts"] for m in resp["messages"])
    plain = client.conversations_replies(channel=cid, ts=parent["ts"])
    assert all("metadata" not in m for m in plain["messages"])


def test_reads_validate_their_arguments_like_slack(slack: LocalSlack, client: WebClient) -> None:
    cid = slack.channel_id("#mlops")
    assert error_of(lambda: client.api_call("conversations.history", params={})) == "channel_not_found"
    assert error_of(lambda: client.conversations_history(channel="#mlops")) == "channel_not_found"  # IDs only
    assert error_of(lambda: client.conversations_history(channel="C0NOSUCH1")) == "channel_not_found"
    assert error_of(lambda: client.conversations_history(channel=cid, limit=0)) == "invalid_limit"
    assert error_of(lambda: client.api_call("conversations.replies", params={"channel": cid})) == (
        "invalid_arguments"
    )
    assert error_of(lambda: client.conversations_replies(channel=cid, ts="1.000001")) == "thread_not_found"
    assert {"conversations.history", "conversations.replies"} <= set(SUPPORTED_METHODS)


@pytest.mark.parametrize(
    ("metadata", "error"),
    [
        ("{not json", "invalid_metadata_format"),
        ({"event_payload": {}}, "invalid_metadata_schema"),
        ({"event_type": "x", "event_payload": "text"}, "invalid_metadata_schema"),
        ({"event_type": "x", "event_payload": {"big": "y" * 9000}}, "metadata_too_large"),
    ],
)
def test_bad_metadata_is_refused_and_posts_nothing(
    slack: LocalSlack, client: WebClient, metadata: Any, error: str
) -> None:
    assert error_of(lambda: client.chat_postMessage(channel="#mlops", text="x", metadata=metadata)) == error
    assert slack.messages() == []
