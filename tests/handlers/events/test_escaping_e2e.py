"""Hostile text in authenticated events reaches Slack escaped: EventBridge, GitHub and CI, end to end.

Each event is posted to the running ingest app as its sender would (bearer token, HMAC signature,
OIDC token) and every ``chat.postMessage`` / ``chat.update`` the Slack twin recorded is checked
whole: ``text`` and blocks.
"""

from __future__ import annotations

import json
from typing import Any

from handlers.notifications import SlackNotifications
from handlers.render.run_message import run_key
from tests.handlers.escaping import assert_safe, unescape
from tests.handlers.events.conftest import EVENTS_TOKEN, Env, fixture
from tests.handlers.events.test_ci import EXECUTION_ARN, pipeline_result, report, validation
from tests.handlers.events.test_github import deliver, run_payload

ATTACK = "<!channel> <@U123> <#C1> <https://evil.example|click> & >"
ESCAPED = "&lt;!channel&gt; &lt;@U123&gt; &lt;#C1&gt; &lt;https://evil.example|click&gt; &amp; &gt;"


def slack_calls(env: Env) -> list[dict[str, Any]]:
    """Arguments of every message written to Slack since the test began."""
    assert env.notifier.flush(timeout=10), "the Slack outbox did not drain"
    calls = [
        c for c in env.slack.calls()[env.first_call :] if c.method in ("chat.postMessage", "chat.update")
    ]
    assert calls, "nothing was posted"
    for call in calls:
        assert call.ok, call.response
        # Slack would turn bare "@channel" or "#name" into mentions and links with these set.
        assert "link_names" not in call.args and call.args.get("parse") != "full"
    return [c.args for c in calls]


def assert_escaped(args: dict[str, Any], *, here: int = 0) -> None:
    assert_safe({"text": args["text"], "blocks": args.get("blocks")}, here=here)
    assert ESCAPED in args["text"], args["text"]
    blocks = json.dumps(args.get("blocks"), ensure_ascii=False)
    # inside a link's label "|" is shown as "¦" (it would end the label)
    assert ESCAPED in blocks or ESCAPED.replace("|", "¦") in blocks, blocks


def test_eventbridge_alarm_with_markup_in_its_name_and_reason(env: Env) -> None:
    env.serve("production", 2)
    event = fixture("eb_alarm_production_5xx.json")
    event["detail"]["alarmName"] = f"prod-5xx {ATTACK}"
    event["detail"]["state"]["reason"] = f"Threshold Crossed {ATTACK}\n> forged quote"
    auth = {"Authorization": f"Bearer {EVENTS_TOKEN}", "Content-Type": "application/json"}
    assert env.client.post("/events/eventbridge", json.dumps(event), auth).json()["results"] == ["alarm"]
    (alert,) = slack_calls(env)
    assert_escaped(alert, here=1)  # the alert's own <!here>, and only that one
    assert unescape(alert["text"]).endswith(f"Threshold Crossed {ATTACK}\n> forged quote")


def test_eventbridge_deployment_failure_with_markup_in_its_reason(env: Env) -> None:
    event = fixture("eb_endpoint_deployment_failed.json")
    event["detail"]["FailureReason"] = f"Auto rollback: {ATTACK}"
    auth = {"Authorization": f"Bearer {EVENTS_TOKEN}", "Content-Type": "application/json"}
    assert env.client.post("/events/eventbridge", json.dumps(event), auth).json()["results"] == [
        "deployment_failure"
    ]
    (alert,) = slack_calls(env)
    assert_escaped(alert)


def test_github_run_from_a_fork_with_markup_in_its_workflow_name_and_title(env: Env) -> None:
    requested = run_payload("in_progress")
    requested["workflow_run"]["name"] = f"CI {ATTACK}"
    requested["workflow_run"]["display_title"] = f"Fix {ATTACK}\n:white_check_mark: approved by admin"
    assert deliver(env, "workflow_run", requested).status_code == 200
    assert env.notifier.flush(timeout=10)  # posted before the next state, which then updates it
    failed = run_payload("completed", "failure")
    failed["workflow_run"]["name"] = f"CI {ATTACK}"
    assert deliver(env, "workflow_run", failed).status_code == 200
    assert env.notifier.flush(timeout=10)
    job = fixture("gh_workflow_job_failed.json")
    job["workflow_job"]["name"] = f"job {ATTACK}"
    job["workflow_job"]["steps"][1]["name"] = f"step {ATTACK}"
    assert deliver(env, "workflow_job", job).json()["result"] == "workflow_job_failure"
    posted, updated, job_reply = slack_calls(env)
    assert "ts" not in posted and updated["ts"] and job_reply["thread_ts"]
    for args in (posted, updated, job_reply):
        assert_escaped(args)
    # the title's second line stays inside its quote: it cannot pass for a line of the bot's own
    assert ">:white_check_mark: approved by admin" in json.dumps(posted["blocks"], ensure_ascii=False)


def test_ci_reports_with_markup_in_reasons_and_check_names(env: Env) -> None:
    env.notifier.upsert(run_key(EXECUTION_ARN), "Run k2v9d0q7wz1m: Executing", [])
    body = pipeline_result(status="Failed", version=None, model_package_arn=None, failure_reason=ATTACK)
    assert report(env, body, env.issuer.token()).status_code == 200
    _, ci_reply = slack_calls(env)
    assert_escaped(ci_reply)

    # A staging validation reaches the card's thread through the release core, as in the Slack app.
    bridge = SlackNotifications(env.services, env.notifier)
    env.services.release.subscribe(bridge.on_result)
    env.serve("staging", 3)
    checks = [{"name": f"accuracy {ATTACK}", "passed": False, "detail": ATTACK}]
    failing = validation(passed=False, report={"passed": False, "checks": checks})
    assert report(env, failing, env.issuer.token()).status_code == 200
    writes = slack_calls(env)[2:]
    for args in writes:
        assert_safe({"text": args["text"], "blocks": args.get("blocks")})
    (thread_reply,) = [a for a in writes if a.get("thread_ts") and "Staging validation" in a["text"]]
    assert thread_reply["text"].startswith(":x: ")  # a failed check never wears a success emoji
    assert f":x: accuracy {ESCAPED}" in thread_reply["text"]
    assert ":white_check_mark:" not in thread_reply["text"]
