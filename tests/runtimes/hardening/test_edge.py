"""The Slack edge, attacked over real HTTP and through the Lambda handler.

Malformed headers and payload shapes are answered 400 (signed) or 401 (unsigned), never 500 and
never with an ERROR log; Bolt's internal ``x-slack-bolt-lazy-only`` header is refused from outside;
and a signed request replayed within Slack's five minutes acts once, with or without a
``trigger_id``, across a restart too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest

from bot.core.models import Action
from tests.conftest import Closer
from tests.runtimes.hardening.conftest import Bench, asgi_of, http_server, make_bench
from tests.runtimes.hardening.test_security import Transport, bench, done, open_transport, release_state

pytestmark = pytest.mark.long

__all__ = ["bench", "open_transport"]  # fixtures, imported for pytest

TRANSPORTS = ["container", "lambda"]

BAD_TIMESTAMPS = ["x", "1.5", "", "9" * 40, "-1", "0x10", "1_700_000_000", "1e9"]


@pytest.fixture
def no_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.WARNING)
    yield
    errors = [f"{r.name}: {r.getMessage()[:200]}" for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


def approve_command(bench: Bench, *, trigger: bool = True) -> str:
    body = bench.command_body("approve v2 looks good", "bob")
    if trigger:
        return body
    return urlencode([(k, v) for k, v in parse_qsl(body) if k != "trigger_id"])


def payload(data: Any) -> str:
    return urlencode({"payload": json.dumps(data)})


def malformed_payloads(bench: Bench) -> dict[str, str]:
    view = bench.view_payload(json.dumps({"v": 2}), {}, "bob")
    no_type = {**view, "view": {k: v for k, v in view["view"].items() if k != "type"}}
    closed = {**no_type, "type": "view_closed"}
    typed_int = {**view, "view": {**view["view"], "type": 7}}
    click = bench.interaction_payload("release_approve", '{"v":2}', "bob")
    return {
        "view_submission without view.type": payload(no_type),
        "view_closed without view.type": payload(closed),
        "view.type a number": payload(typed_int),
        "block_actions without actions": payload({k: v for k, v in click.items() if k != "actions"}),
        "block_actions without user": payload({k: v for k, v in click.items() if k != "user"}),
        "event_callback with a string event": payload({"type": "event_callback", "event": "x"}),
        "event_callback event without type": payload({"type": "event_callback", "event": {"user": "U1"}}),
        "a JSON list": payload([click]),
    }


MALFORMED = [
    "view_submission without view.type",
    "view_closed without view.type",
    "view.type a number",
    "block_actions without actions",
    "block_actions without user",
    "event_callback with a string event",
    "event_callback event without type",
    "a JSON list",
]


def response_text(transport: Transport, body: str, headers: dict[str, str]) -> tuple[int, str]:
    """Status and text of one Slack request (the Transport protocol gives only the status)."""
    if transport.name == "container":
        client: httpx.Client = transport.client  # type: ignore[attr-defined]
        response = client.post("/slack/events", content=body, headers=headers)
        return response.status_code, response.text
    from runtimes import lambda_handler
    from tests.runtimes.test_lambda_handler import Context, v2_event

    answer = lambda_handler.handler(v2_event("/slack/events", body, headers), Context())
    return int(answer["statusCode"]), str(answer["body"])


def assert_nothing_happened(bench: Bench, transport: Transport, before: Any) -> None:
    transport.settle()
    bench.settle()
    assert release_state(transport.services) == before
    assert transport.services.release.audit(10) == []
    assert transport.answers() == []


@pytest.mark.parametrize("timestamp", BAD_TIMESTAMPS)
@pytest.mark.parametrize("transport_name", TRANSPORTS)
def test_a_malformed_timestamp_is_400_not_500(
    bench: Bench,
    open_transport: Callable[[str], Transport],
    no_errors: None,
    transport_name: str,
    timestamp: str,
) -> None:
    transport = open_transport(transport_name)
    body = approve_command(bench)
    headers = {**bench.headers(body), "x-slack-request-timestamp": timestamp}
    before = release_state(transport.services)
    status, text = response_text(transport, body, headers)
    assert (status, text) == (400, "x-slack-request-timestamp must be whole seconds since the epoch")
    assert_nothing_happened(bench, transport, before)


def test_lambda_refuses_digits_that_are_not_ascii(
    bench: Bench, open_transport: Callable[[str], Transport], no_errors: None
) -> None:
    transport = open_transport("lambda")  # an HTTP header cannot carry them; a Lambda event can
    body = approve_command(bench)
    arabic_indic = "".join(chr(0x0660 + int(d)) for d in bench.headers(body)["x-slack-request-timestamp"])
    before = release_state(transport.services)
    headers = {**bench.headers(body), "x-slack-request-timestamp": arabic_indic}
    assert response_text(transport, body, headers)[0] == 400  # int() would have read it as a number
    assert_nothing_happened(bench, transport, before)


@pytest.mark.parametrize("case", MALFORMED)
@pytest.mark.parametrize("transport_name", TRANSPORTS)
def test_signed_payloads_slack_never_sends_are_400(
    bench: Bench,
    open_transport: Callable[[str], Transport],
    no_errors: None,
    transport_name: str,
    case: str,
) -> None:
    transport = open_transport(transport_name)
    body = malformed_payloads(bench)[case]
    before = release_state(transport.services)
    status, text = response_text(transport, body, bench.headers(body))
    assert status == 400 and text.startswith("malformed Slack payload: "), text
    assert_nothing_happened(bench, transport, before)


@pytest.mark.parametrize("case", MALFORMED)
def test_unsigned_malformed_payloads_are_401_and_say_nothing(
    bench: Bench, open_transport: Callable[[str], Transport], no_errors: None, case: str
) -> None:
    transport = open_transport("container")
    body = malformed_payloads(bench)[case]
    forged = bench.headers(body, secret="not-the-signing-secret")
    assert response_text(transport, body, forged) == (401, "invalid request")
    unsigned = {"content-type": "application/x-www-form-urlencoded"}
    assert response_text(transport, body, unsigned)[0] == 401


@pytest.mark.parametrize("transport_name", TRANSPORTS)
def test_the_lazy_only_header_is_refused_from_outside(
    bench: Bench, open_transport: Callable[[str], Transport], no_errors: None, transport_name: str
) -> None:
    """With it, Bolt would skip the acknowledgement and run the slow half of a listener at once."""
    transport = open_transport(transport_name)
    body = approve_command(bench)
    before = release_state(transport.services)
    headers = {**bench.headers(body), "x-slack-bolt-lazy-only": "1", "x-slack-bolt-lazy-function-name": "x"}
    assert response_text(transport, body, headers) == (
        400,
        "x-slack-bolt-lazy-only is not accepted from outside",
    )
    assert_nothing_happened(bench, transport, before)
    assert done(transport.services, Action.APPROVE) == 0


@pytest.mark.parametrize("transport_name", ["in-process", *TRANSPORTS])
def test_a_replay_without_trigger_id_acts_once(
    bench: Bench, open_transport: Callable[[str], Transport], transport_name: str
) -> None:
    transport = open_transport(transport_name)
    body = approve_command(bench, trigger=False)
    assert "trigger_id" not in body
    headers = bench.headers(body)
    statuses = [transport.slack(body, headers) for _ in range(3)]  # the same signed request, thrice
    transport.settle()
    assert statuses == [200, 200, 200]  # acknowledged harmlessly
    assert done(transport.services, Action.APPROVE) == 1
    entries = [e for e in transport.services.release.audit(100) if e.action is Action.APPROVE]
    assert len(entries) == 1, [e.detail for e in entries]
    assert transport.services.platform.describe_model_package(2).approval_status.value == "Approved"


def test_a_replay_after_a_restart_is_refused(release_home: Path, close_later: Closer) -> None:
    """The claim is in the store: a new process (or another replica) on it refuses the replay."""
    first = make_bench(release_home)
    body = approve_command(first, trigger=False)
    headers = first.headers(body)
    try:
        with http_server(asgi_of(first)) as url:
            assert httpx.post(url + "/slack/events", content=body, headers=headers).status_code == 200
        first.settle()
        assert done(first.services, Action.APPROVE) == 1
    finally:
        first.close()  # fully: the next process opens the same files
    again = make_bench(release_home, secrets_=first.secrets)
    try:
        with http_server(asgi_of(again)) as url:
            assert httpx.post(url + "/slack/events", content=body, headers=headers).status_code == 200
        again.settle()
        entries = [e for e in again.services.release.audit(100) if e.action is Action.APPROVE]
        assert len(entries) == 1, [e.detail for e in entries]
    finally:
        again.close(close_later)


def test_distinct_signed_requests_with_the_same_body_are_not_replays(
    bench: Bench, open_transport: Callable[[str], Transport]
) -> None:
    """Each signed request has its own key: only the very same one is refused."""
    from handlers.commands.ops import NS_ONCE

    transport = open_transport("in-process")
    body = approve_command(bench, trigger=False)
    now = int(bench.headers(body)["x-slack-request-timestamp"])
    for ts in (now - 1, now):
        assert transport.slack(body, bench.headers(body, timestamp=ts)) == 200
    transport.settle()
    keys = [key for key, _ in bench.services.store.query(NS_ONCE, "sig:")]
    assert sorted(k.split(":")[1] for k in keys) == [str(now - 1), str(now)]
