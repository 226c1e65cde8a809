"""A whole release through signed Slack requests on the real local platform: in process and over HTTP.

train -> run message updated in place to Succeeded -> release card -> approve click -> staging deploy and
validation in the card's thread -> promote click -> rollback command -> confirm -> registry, endpoints,
cards, threads and audit all agree.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from slack_sdk.models.blocks import ActionsBlock, Block

from bot.core.models import Action, ApprovalStatus, Outcome
from handlers.render.run_message import run_key
from runtimes.http_server import build_asgi
from runtimes.slack_local import LocalSlack, Message
from tests.handlers.conftest import CHANNEL, Harness, drain, make_harness, make_services
from tests.serving import http_server

Send = Callable[[str], tuple[int, str]]


def card_buttons(message: Message) -> set[str]:
    out: set[str] = set()
    for block in (Block.parse(b) for b in message.blocks):  # type: ignore[misc]
        if isinstance(block, ActionsBlock):
            out.update(e.action_id for e in block.elements)
    return out


def message(h: Harness, key: str) -> Message | None:
    ref = h.services.store.get("message", key)
    return None if ref is None else h.slack.message(CHANNEL, str(ref["ts"]))


def wait_message(
    h: Harness, key: str, predicate: Callable[[Message], bool], what: str, timeout: float = 60
) -> Message:
    def check() -> Message | None:
        m = message(h, key)
        return m if m is not None and predicate(m) else None

    found: Message = h.slack.wait_for(check, timeout, what)
    return found


def thread_texts(h: Harness, key: str) -> list[str]:
    m = message(h, key)
    return [] if m is None else [r.text for r in sorted(h.slack.thread(m.ts), key=lambda r: r.ts)]


def wait_thread(h: Harness, key: str, fragment: str, timeout: float = 30) -> None:
    h.slack.wait_for(
        lambda: any(fragment in t for t in thread_texts(h, key)), timeout, f"{fragment!r} in {key}"
    )


def release_flow(h: Harness, send: Send) -> None:
    platform = h.services.platform
    release = h.services.release

    # train (alice) -> one run message, in its final state once the run Succeeded (how many updates it
    # took depends on how fast the run is: the notifier coalesces them)
    status, body = send(
        h.command_body(
            "train InputData=adult-sample.data num_round=20 max_depth=4 AccuracyThreshold=0.8", "UALICE"
        )
    )
    assert status == 200 and "Working on" in body
    started = h.wait_responses(1)[-1]["text"]
    assert "Started a training run" in started
    execution_id = platform.list_executions(1)[0].execution_id
    run = wait_message(h, run_key(execution_id), lambda m: "Succeeded" in m.text, "run Succeeded", 120)
    assert run.text.endswith("registered v2")
    assert len([m for m in h.slack.top_level() if m.text.startswith("Training run")]) == 1
    card2 = wait_message(h, "card:v2", lambda m: True, "card v2")
    assert card2.text.startswith("Model v2: PendingManualApproval")
    assert card_buttons(card2) == {"release_approve_form", "release_reject"}

    # approve v1 by the button's form (bob), with a comment: staging deploy and validation are
    # replies in v1's thread
    status, _ = send(h.action_body("release_approve_form", '{"v":1}', "UBOB"))
    assert status == 200
    h.slack.wait_for(lambda: h.slack.calls("views.open"), what="the approval form")
    status, _ = send(h.view_body(1, "baseline looks right", "UBOB", callback_id="approve_comment"))
    assert status == 200
    wait_thread(h, "card:v1", "Staging validation of v1 passed")
    texts = thread_texts(h, "card:v1")
    assert any("Approved v1: baseline looks right" in t and "<@UBOB>" in t for t in texts)
    assert any("Deployed v1 to staging" in t for t in texts)
    card1 = wait_message(h, "card:v1", lambda m: card_buttons(m) == {"release_promote"}, "v1 promotable")
    assert "serves *staging*" in json.dumps(card1.blocks)

    # promote v1 by button (rose)
    send(h.action_body("promote_confirm", '{"v":1,"from":0}', "UROSE"))
    wait_thread(h, "card:v1", "Promoted v1 to production")
    assert platform.describe_endpoint("production").version == 1

    # approve v2 by command (bob), promote it by button (rose)
    send(h.command_body("approve v2 better recall", "UBOB"))
    wait_thread(h, "card:v2", "Staging validation of v2 passed")
    send(h.action_body("promote_confirm", '{"v":2,"from":1}', "UROSE"))
    wait_thread(h, "card:v2", "Promoted v2 to production (was v1)")
    wait_message(h, "card:v2", lambda m: "release_rollback" in card_buttons(m), "v2 rollback button")
    wait_thread(h, "card:v1", "v2 replaced v1 in production")
    assert platform.describe_endpoint("production").version == 2

    # rollback (dave, oncall): asks first, naming endpoint and versions; only Confirm acts
    count = h.respond_count()
    send(h.command_body("rollback production", "UDAVE"))
    ask = h.wait_responses(count + 1)[-1]
    endpoint = platform.endpoint_name("production")
    assert f"endpoint `{endpoint}` goes from *v2* to *v1*" in json.dumps(ask["blocks"])
    assert platform.describe_endpoint("production").version == 2
    confirm = next(
        e["value"]
        for b in ask["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "rollback_confirm"
    )
    send(h.action_body("rollback_confirm", confirm, "UDAVE"))
    done = h.wait_responses(count + 2)[-1]
    assert "Rolled back production to v1 (was v2)" in done["text"]
    assert platform.describe_endpoint("production").version == 1
    wait_thread(h, "card:v1", "Rolled back production to v1 (was v2)")
    wait_thread(h, "card:v2", "rolled back from v2 to v1")
    wait_message(h, "card:v2", lambda m: "release_rollback" not in card_buttons(m), "v2 card updated")
    # v1 serves production again, and the only version it replaced is newer: no "roll back" forward
    card1 = wait_message(
        h, "card:v1", lambda m: "serves *production*" in json.dumps(m.blocks), "v1 card serving production"
    )
    assert "release_rollback" not in card_buttons(card1)

    # registry and audit agree with what the channel shows
    assert platform.describe_model_package(1).approval_status is ApprovalStatus.APPROVED
    assert platform.describe_model_package(2).approval_status is ApprovalStatus.APPROVED
    done_by = {(e.action, e.actor_id) for e in release.audit(100) if e.outcome is Outcome.DONE}
    for expected in [
        (Action.TRAIN, "UALICE"),
        (Action.APPROVE, "UBOB"),
        (Action.PROMOTE, "UROSE"),
        (Action.ROLLBACK, "UDAVE"),
    ]:
        assert expected in done_by
    count = h.respond_count()
    send(h.command_body("audit 30", "UERIN"))
    audit_text = json.dumps(h.wait_responses(count + 1)[-1]["blocks"])
    assert "*rollback*" in audit_text and "<@UDAVE>" in audit_text


@pytest.fixture
def local_harness(home: Path, local_slack: LocalSlack) -> Iterator[Harness]:
    services = make_services(home)
    h = make_harness(local_slack, services)
    try:
        yield h
    finally:
        drain(h.app, services)
        services.close()


def test_release_in_process(local_harness: Harness) -> None:
    h = local_harness

    def send(body: str) -> tuple[int, str]:
        response = h.dispatch(body)
        return response.status, str(response.body)

    release_flow(h, send)


@pytest.fixture
def server(local_harness: Harness) -> Iterator[str]:
    with http_server(build_asgi(local_harness.app, local_harness.services)) as url:
        yield url


def test_release_over_http(local_harness: Harness, server: str) -> None:
    h = local_harness
    with httpx.Client(base_url=server, timeout=60) as http:

        def send(body: str) -> tuple[int, str]:
            response = http.post("/slack/events", content=body, headers=h.headers(body))
            return response.status_code, response.text

        bad = h.command_body("approve v1", "UBOB")
        assert (
            http.post("/slack/events", content=bad, headers=h.headers(bad, secret="nope")).status_code == 401
        )
        release_flow(h, send)
        health = http.get("/healthz")
        assert health.status_code == 200 and health.json() == {
            "backend": "local",
            "store": "ok",
            "status": "ok",
        }
        metrics = http.get("/metrics").text
        assert 'mlops_slack_requests_total{kind="command",status="200"}' in metrics
        assert 'mlops_slack_requests_total{kind="command",status="401"} 1.0' in metrics
        assert 'mlops_slack_ack_seconds_bucket{kind="block_actions"' in metrics
        assert 'mlops_slack_dead_letters_total{reason="retries_exhausted"} 0.0' in metrics


def test_concurrent_commands_each_get_their_own_ack(local_harness: Harness, server: str) -> None:
    """40 commands at once each get their own ack; how fast is measured in ``bench/ack_latency.py``."""
    h = local_harness
    texts = ["status", "history production", "audit 5", "bogus"] * 10
    bodies = [h.command_body(text, "UERIN") for text in texts]

    # one client, shared by the threads (httpx clients are thread-safe), with a connection for each
    http = httpx.Client(base_url=server, timeout=60, limits=httpx.Limits(max_connections=len(bodies)))

    def post(body: str) -> tuple[int, str]:
        response = http.post("/slack/events", content=body, headers=h.headers(body))
        return response.status_code, response.text

    results: dict[int, tuple[int, str]] = {}
    threads = [
        threading.Thread(target=lambda i=i, b=b: results.__setitem__(i, post(b)))
        for i, b in enumerate(bodies)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    http.close()
    assert [results[i][0] for i in range(len(bodies))] == [200] * len(bodies)
    for i, text in enumerate(texts):
        if text == "bogus":
            assert "bogus" in results[i][1], results[i][1]
