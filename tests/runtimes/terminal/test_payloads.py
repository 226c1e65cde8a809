"""Requests as Slack sends them: signatures and interaction payloads."""

from __future__ import annotations

import json
from dataclasses import replace
from urllib.parse import parse_qs

from bot.users import LocalUser
from runtimes.slack_local import LocalSlack
from runtimes.terminal import buttons_of, signed_headers
from runtimes.terminal.payloads import block_actions, interaction_body, view_closed, view_submission
from tests.runtimes.terminal.cards import card, message

BOB = LocalUser(id="UBOB", name="bob", groups=("ml-reviewers",))


def test_signed_headers_verify_with_slack_sdk() -> None:
    from slack_sdk.signature import SignatureVerifier

    headers = signed_headers("s3cret", "a=1", "application/x-www-form-urlencoded")
    assert SignatureVerifier("s3cret").is_valid(
        body="a=1", timestamp=headers["x-slack-request-timestamp"], signature=headers["x-slack-signature"]
    )


def test_a_click_carries_the_button_and_its_message_unless_ephemeral() -> None:
    blocks = card(1)
    blocks[-1]["elements"][1].pop("value")
    with LocalSlack([BOB]) as slack:
        public = replace(message(1, blocks), channel=slack.channel_id("mlops"))
        approve, reject = buttons_of(blocks)
        payload = block_actions(slack, BOB, public, approve)
        assert payload["type"] == "block_actions"
        assert payload["user"] == {
            "id": "UBOB",
            "username": "bob",
            "name": "bob",
            "team_id": payload["team"]["id"],
        }
        assert payload["actions"][0]["value"] == json.dumps({"v": 1})
        assert payload["actions"][0]["style"] == "primary"
        assert payload["message"]["ts"] == public.ts
        assert payload["container"]["is_ephemeral"] is False
        hidden = replace(message(2, blocks, ephemeral_to="UBOB"), channel=public.channel)
        ephemeral = block_actions(slack, BOB, hidden, reject)
        assert "message" not in ephemeral  # Slack omits it for an ephemeral container
        assert ephemeral["container"]["is_ephemeral"] is True
        assert "value" not in ephemeral["actions"][0]  # a button without a value sends none
        assert ephemeral["trigger_id"] != payload["trigger_id"]


def test_view_payloads_and_their_form_encoding() -> None:
    view = {"type": "modal", "callback_id": "reject", "blocks": []}
    with LocalSlack([BOB]) as slack:
        submitted = view_submission(slack, BOB, view)
    assert submitted["type"] == "view_submission" and submitted["view"] == view and submitted["trigger_id"]
    closed = view_closed(BOB, view)
    assert closed["type"] == "view_closed" and closed["is_cleared"] is False and "trigger_id" not in closed
    form = parse_qs(interaction_body(closed))
    assert json.loads(form["payload"][0]) == closed
