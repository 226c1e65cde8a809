"""The HTTP runtime's metrics label each request by kind from the body the edge already parsed."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest

from handlers.middleware.edge import SlackEdge
from runtimes.http_server import request_kind

FORM = "application/x-www-form-urlencoded"
SECRET = "edge-secret"


def _payload(kind: str) -> str:
    return urlencode({"payload": json.dumps({"type": kind, "user": {"id": "U1"}, "actions": []})})


BODIES = {
    "command": urlencode({"command": "/mlops", "text": "status", "user_id": "U1"}),
    # Bolt reads a form body that mentions "payload" as a payload, and finds none: {}
    "command whose text says payload": urlencode({"command": "/mlops", "text": "payload", "user_id": "U1"}),
    "block_actions": _payload("block_actions"),
    "view_submission": _payload("view_submission"),
    "message_action": _payload("message_action"),
    "not a payload": "a=1",
}
EXPECTED = {
    "command": "command",
    "command whose text says payload": "command",
    "block_actions": "block_actions",
    "view_submission": "view_submission",
    "message_action": "other",
    "not a payload": "other",
}


@pytest.mark.parametrize("name", sorted(BODIES))
def test_the_kind_from_the_edges_parse_is_the_kind_from_the_raw_body(name: str) -> None:
    body = BODIES[name]
    headers = {"content-type": FORM, "x-slack-request-timestamp": str(int(time.time()))}
    _refusal, parsed = SlackEdge(SECRET).inspect(body, headers)
    assert request_kind(body, FORM, parsed) == EXPECTED[name]
    assert request_kind(body, FORM) == EXPECTED[name]


def test_json_bodies_are_events_and_unparsed_ones_fall_back_to_the_raw_body() -> None:
    event = '{"type":"event_callback"}'
    assert request_kind(event, "application/json", json.loads(event)) == "event"
    # the edge refused before parsing (a bad timestamp): the kind still comes from the raw body
    refusal, parsed = SlackEdge(SECRET).inspect(
        BODIES["block_actions"], {"content-type": FORM, "x-slack-request-timestamp": "x"}
    )
    assert refusal is not None and refusal.status == 400 and parsed is None
    assert request_kind(BODIES["block_actions"], FORM, parsed) == "block_actions"
