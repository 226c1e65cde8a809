"""Block Kit and views checked as Slack checks them: slack_sdk's models, and what they leave out."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from runtimes.slack_local import LocalSlack, block_errors, channel_id
from tests.runtimes.slack_local.test_local_slack import BUTTONS, MODAL, SECTION


def test_block_kit_limits_are_enforced(slack: LocalSlack, client: WebClient) -> None:
    too_long = {"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="#mlops", text="x", blocks=[too_long])
    assert err.value.response["error"] == "invalid_blocks"
    assert "json-pointer:/blocks/0/text/text" in err.value.response["errors"][0]
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="#mlops", text="x", blocks=[SECTION] * 51)
    assert err.value.response["error"] == "invalid_blocks"
    with pytest.raises(SlackApiError) as err, pytest.warns(UserWarning, match="text"):
        client.chat_postMessage(channel="#mlops")
    assert err.value.response["error"] == "no_text"
    assert slack.messages() == []


def test_block_errors_cover_fields_buttons_and_duplicates() -> None:
    fields = {"type": "section", "fields": [{"type": "mrkdwn", "text": "a"}] * 11}
    dup = [dict(BUTTONS), dict(BUTTONS)]
    long_button = {
        "type": "actions",
        "elements": [{"type": "button", "text": {"type": "plain_text", "text": "b" * 76}, "action_id": "a"}],
    }
    assert any("fields" in e for e in block_errors([fields]))
    assert any("duplicate block_id" in e for e in block_errors(dup))
    assert any("/elements/0/text/text" in e for e in block_errors([long_button]))
    assert any("unsupported type" in e for e in block_errors([{"type": "frobnicate"}]))
    assert block_errors([SECTION, BUTTONS, {"type": "divider"}]) == []


def refused(client: WebClient, blocks: list[dict[str, Any]]) -> list[str]:
    """Post ``blocks``; they must be refused as Slack refuses them. Returns Slack's messages."""
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="#mlops", text="fallback", blocks=blocks)
    body = err.value.response
    assert body["ok"] is False and body["error"] == "invalid_blocks"
    messages: list[str] = body["response_metadata"]["messages"]
    assert messages and all(m.startswith("[ERROR] ") for m in messages)
    assert [m.removeprefix("[ERROR] ") for m in messages] == body["errors"]
    return messages


def button(**fields: Any) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": "Go"}, "action_id": "go", **fields}


def test_limits_that_slack_sdk_models_check_are_refused_like_slack(
    slack: LocalSlack, client: WebClient
) -> None:
    long_value = refused(client, [{"type": "actions", "elements": [button(value="v" * 2001)]}])
    assert long_value == [
        "[ERROR] value attribute cannot exceed 2000 characters [json-pointer:/blocks/0/elements/0/value]"
    ]
    far_too_long = refused(client, [{"type": "actions", "elements": [button(value="v" * 3001)]}])
    assert "json-pointer:/blocks/0/elements/0/value" in far_too_long[0]
    long_text = refused(client, [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}])
    assert "3000 characters [json-pointer:/blocks/0/text/text]" in long_text[0]
    accessory = {"type": "section", "text": SECTION["text"], "accessory": button(style="green")}
    assert "style" in refused(client, [accessory])[0]
    context = {"type": "context", "elements": [{"type": "mrkdwn", "text": "a"}] * 11}
    assert "elements" in refused(client, [context])[0]
    missing = refused(client, [{"type": "input", "label": {"type": "plain_text", "text": "Why"}}])
    assert "missing required field: element [json-pointer:/blocks/0/element]" in missing[0]
    # at the limits exactly, all is accepted
    at_limit = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3000}},
        {"type": "actions", "elements": [button(value="v" * 2000)]},
    ]
    assert client.chat_postMessage(channel="#mlops", text="fine", blocks=at_limit)["ok"] is True
    assert [m.text for m in slack.messages()] == ["fine"]


def test_what_slack_sdk_models_let_through_is_still_refused(slack: LocalSlack, client: WebClient) -> None:
    assert refused(client, [{"type": "frobnicate"}]) == [
        "[ERROR] unsupported type 'frobnicate' [json-pointer:/blocks/0/type]"
    ]
    unknown_element = {"type": "actions", "elements": [{"type": "hologram", "action_id": "h"}]}
    assert (
        "unsupported type 'hologram' [json-pointer:/blocks/0/elements/0/type]"
        in refused(client, [unknown_element])[0]
    )
    wide_field = {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}
    assert "2001 characters [json-pointer:/blocks/0/fields/0/text]" in refused(client, [wide_field])[0]
    mrkdwn_header = {"type": "header", "text": {"type": "mrkdwn", "text": "*Model*"}}
    assert "plain_text [json-pointer:/blocks/0/text/type]" in refused(client, [mrkdwn_header])[0]
    assert "at least 1 element" in refused(client, [{"type": "actions", "elements": []}])[0]
    assert "no more than 50 items" in refused(client, [SECTION] * 51)[0]
    with pytest.raises(SlackApiError) as err:
        client.chat_update(
            channel=channel_id("mlops"), ts="1.000001", text="x", blocks=[{"type": "frobnicate"}]
        )
    assert err.value.response["error"] == "invalid_blocks"  # checked before the message is looked up
    assert slack.messages() == []


def test_views_are_checked_on_slack_sdk_view_model(slack: LocalSlack, client: WebClient) -> None:
    cases = {
        "title": dict(MODAL, title={"type": "plain_text", "text": "t" * 25}),
        "private_metadata": dict(MODAL, private_metadata="m" * 3001),
        "blocks": dict(MODAL, blocks=[{"type": "divider"}] * 101),
        "/view/blocks/0/label/text": dict(
            MODAL, blocks=[dict(MODAL["blocks"][0], label={"type": "plain_text", "text": "L" * 2001})]
        ),
    }
    for where, view in cases.items():
        with pytest.raises(SlackApiError) as err:
            client.views_open(trigger_id=slack.issue_trigger("UBOB"), view=view)
        assert err.value.response["error"] == "invalid_arguments"
        assert any(where in m for m in err.value.response["response_metadata"]["messages"]), where
    assert slack.views() == []


def test_missing_block_and_action_ids_are_filled_in(slack: LocalSlack, client: WebClient) -> None:
    bare = {
        "type": "actions",
        "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Go"}}],
    }
    client.chat_postMessage(channel="#mlops", text="x", blocks=[SECTION, bare])
    blocks = slack.messages()[0].blocks
    assert all(b.get("block_id") for b in blocks)
    assert blocks[1]["elements"][0]["action_id"]


def test_invalid_view_is_refused(slack: LocalSlack, client: WebClient) -> None:
    no_submit = {k: v for k, v in MODAL.items() if k != "submit"}
    with pytest.raises(SlackApiError) as err:
        client.views_open(trigger_id=slack.issue_trigger("UBOB"), view=no_submit)
    assert err.value.response["error"] == "invalid_arguments"
    assert any("submit" in m for m in err.value.response["response_metadata"]["messages"])
