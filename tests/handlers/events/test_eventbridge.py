"""POST /events/eventbridge end to end: auth, filtering, dedupe, alerts in Slack."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.ingest.models import EventBridgeEvent
from handlers.events import dispatch_eventbridge, eventbridge
from ml.platform import PlatformError
from tests.handlers.events.conftest import EVENTS_TOKEN, Env, fixture, make_client

AUTH = {"Authorization": f"Bearer {EVENTS_TOKEN}", "Content-Type": "application/json"}
PATH = "/events/eventbridge"


def send(env: Env, events: Any, headers: dict[str, str] | None = None) -> Any:
    return env.client.post(PATH, json.dumps(events), AUTH if headers is None else headers)


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def all_text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {EVENTS_TOKEN}"},
        {"Authorization": f"Bearer {EVENTS_TOKEN}x"},
        {"Authorization": "Bearer "},
    ],
)
def test_wrong_or_missing_token_is_refused_and_nothing_happens(env: Env, headers: dict[str, str]) -> None:
    resp = send(env, fixture("eb_alarm_production_5xx.json"), headers)
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"] == "Bearer"
    assert env.messages() == []
    assert env.delegated == []


def test_unconfigured_token_fails_closed(env: Env) -> None:
    env.rebuild(events_token=None)
    resp = send(env, fixture("eb_alarm_production_5xx.json"))
    assert resp.status_code == 401
    assert "EVENTS_TOKEN is not configured" in resp.json()["reason"]
    assert env.messages() == []


def test_sagemaker_event_is_delegated_once(env: Env) -> None:
    event = fixture("eb_model_package_approved.json")
    first = send(env, event)
    again = send(env, event)
    assert first.status_code == 200 and first.json()["results"] == ["delegated"]
    assert again.status_code == 200 and again.json()["results"] == ["duplicate"]
    assert [e.id for e in env.delegated] == [event["id"]]


def test_a_batch_and_what_is_ignored(env: Env) -> None:
    unknown_type = fixture("eb_endpoint_in_service.json") | {
        "id": "a1",
        "detail-type": "SageMaker Feature Group State Change",
    }
    other_source = fixture("eb_alarm_production_5xx.json") | {"id": "a2", "source": "aws.ec2"}
    other_pipeline = fixture("eb_pipeline_execution_failed.json") | {"id": "a3"}
    other_pipeline["detail"]["pipelineArn"] = "arn:aws:sagemaker:eu-west-1:210987654321:pipeline/other"
    other_pipeline["detail"]["pipelineExecutionArn"] = (
        "arn:aws:sagemaker:eu-west-1:210987654321:pipeline/other/execution/zz"
    )
    batch = [
        fixture("eb_pipeline_execution_failed.json"),
        fixture("eb_pipeline_step_failed.json"),
        fixture("eb_endpoint_in_service.json"),
        fixture("eb_training_job_failed.json"),
        unknown_type,
        other_source,
        other_pipeline,
    ]
    resp = send(env, batch)
    assert resp.status_code == 200
    assert resp.json()["results"] == [
        "delegated",
        "delegated",
        "delegated",
        "delegated",
        "ignored",
        "ignored",
        "filtered",
    ]
    assert [e.id for e in env.delegated] == [e["id"] for e in batch[:4]]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not JSON"),
        (b"[]", "empty list"),
        (b'"hello"', "must be a JSON object"),
        (b'{"id": "x", "source": "aws.sagemaker"}', "lacks detail-type"),
    ],
)
def test_malformed_bodies_are_400(env: Env, body: bytes, message: str) -> None:
    resp = env.client.post(PATH, body, AUTH)
    assert resp.status_code == 400
    assert message in resp.json()["error"]
    assert env.delegated == [] and env.messages() == []


def test_a_batch_with_one_malformed_event_does_nothing(env: Env) -> None:
    broken = fixture("eb_pipeline_step_failed.json")
    del broken["detail"]["stepName"]
    resp = send(env, [fixture("eb_model_package_approved.json"), broken])
    assert resp.status_code == 400
    assert "no stepName" in resp.json()["error"]
    assert env.delegated == []
    # nothing was claimed either: the fixed batch is processed in full
    assert send(env, [fixture("eb_model_package_approved.json")]).json()["results"] == ["delegated"]


def test_production_alarm_posts_a_loud_alert_with_rollback(env: Env) -> None:
    env.serve("production", 2)
    resp = send(env, fixture("eb_alarm_production_5xx.json"))
    assert resp.json()["results"] == ["alarm"]
    (post,) = env.messages()
    assert ":rotating_light:" in post.text and "mlops-xgboost-production-5xx" in post.text
    assert "<!here>" in all_text(post.blocks)
    assert "Threshold Crossed" in all_text(post.blocks)
    (button,) = buttons(post.blocks)
    assert (button["action_id"], button["value"], button["style"]) == ("release_rollback", "2", "danger")


def test_one_alert_per_alarm_transition_even_with_several_event_ids(env: Env) -> None:
    env.serve("production", 2)
    event = fixture("eb_alarm_production_5xx.json")
    assert send(env, event).json()["results"] == ["alarm"]
    assert send(env, event).json()["results"] == ["duplicate"]
    assert send(env, event | {"id": "another-id-same-change"}).json()["results"] == ["duplicate"]
    assert len(env.messages()) == 1


def test_alarm_back_to_ok_replies_in_the_alert_thread(env: Env) -> None:
    env.serve("production", 2)
    send(env, fixture("eb_alarm_production_5xx.json"))
    ok = fixture("eb_alarm_production_5xx.json") | {"id": "ok-1"}
    ok["detail"]["previousState"], ok["detail"]["state"] = (
        ok["detail"]["state"],
        {"value": "OK", "reason": "recovered", "timestamp": "2026-11-20T12:20:00.000+0000"},
    )
    assert send(env, ok).json()["results"] == ["alarm_resolved"]
    alert, resolved = env.messages()
    assert resolved.thread_ts == alert.ts
    assert "back to OK" in resolved.text


def test_alarm_without_a_production_version_has_no_button(env: Env) -> None:
    send(env, fixture("eb_alarm_production_5xx.json"))
    (post,) = env.messages()
    assert buttons(post.blocks) == []
    assert "nothing to roll back" in all_text(post.blocks)


def test_unrelated_and_insufficient_data_alarms_post_nothing(env: Env) -> None:
    other = fixture("eb_alarm_production_5xx.json") | {"id": "x1"}
    other["detail"]["alarmName"] = "billing"
    other["detail"]["configuration"]["metrics"] = []
    assert send(env, other).json()["results"] == ["filtered"]
    flapping = fixture("eb_alarm_production_5xx.json") | {"id": "x2"}
    flapping["detail"]["state"]["value"] = "INSUFFICIENT_DATA"
    assert send(env, flapping).json()["results"] == ["alarm_ignored"]
    assert env.messages() == []


def test_configured_alarm_name_is_alerted(env: Env) -> None:
    env.rebuild(mlops_alarm_names=["mlops-xgboost-latency"])
    event = fixture("eb_alarm_production_5xx.json")
    event["detail"]["alarmName"] = "mlops-xgboost-latency"
    event["detail"]["configuration"]["metrics"] = []
    assert send(env, event).json()["results"] == ["alarm"]
    assert len(env.messages()) == 1


def test_failed_production_deployment_is_loud_with_reason_and_rollback(env: Env) -> None:
    env.serve("production", 2)
    event = fixture("eb_endpoint_deployment_failed.json")
    assert send(env, event).json()["results"] == ["deployment_failure"]
    assert send(env, event | {"id": "same-failure-new-id"}).json()["results"] == ["duplicate"]
    (post,) = env.messages()
    assert "Auto rollback triggered" in post.text
    assert "Auto rollback triggered" in all_text(post.blocks)
    (button,) = buttons(post.blocks)
    assert (button["action_id"], button["value"]) == ("release_rollback", "2")
    assert env.delegated == []


def test_failed_staging_deployment_has_no_rollback_button(env: Env) -> None:
    env.serve("production", 2)
    event = fixture("eb_endpoint_deployment_failed.json")
    event["detail"]["EndpointName"] = "mlops-xgboost-staging"
    event["detail"]["EndpointStatus"] = "FAILED"
    assert send(env, event).json()["results"] == ["deployment_failure"]
    (post,) = env.messages()
    assert "staging" in post.text
    assert buttons(post.blocks) == []


def test_deployment_progress_is_delegated(env: Env) -> None:
    event = fixture("eb_endpoint_deployment_failed.json")
    event["detail"]["EndpointStatus"] = "UPDATING"
    del event["detail"]["FailureReason"]
    assert send(env, event).json()["results"] == ["delegated"]
    assert env.messages() == []


def test_slack_outage_delays_the_alert_but_loses_nothing(env: Env) -> None:
    env.serve("production", 2)
    env.slack.fail_next("chat.postMessage", status=500, times=2)
    event = fixture("eb_alarm_production_5xx.json")
    assert send(env, event).json()["results"] == ["alarm"]  # accepted: the outbox owns delivery
    assert send(env, event).json()["results"] == ["duplicate"]
    (post,) = env.messages()
    assert "mlops-xgboost-production-5xx" in post.text
    assert len([c for c in env.calls("chat.postMessage") if not c.ok]) == 2


def test_a_failure_before_anything_is_queued_lets_the_retry_act(env: Env) -> None:
    event = fixture("eb_model_package_approved.json")
    calls: list[int] = []

    def flaky(services: Any, notifier: Any, e: EventBridgeEvent) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise PlatformError("DescribeModelPackage timed out")
        env.delegated.append(e)

    env.client = make_client(env.services, env.notifier, env.delegated, platform_handler=flaky)
    assert send(env, event).status_code == 500
    assert send(env, event).json()["results"] == ["delegated"]
    assert send(env, event).json()["results"] == ["duplicate"]
    assert [e.id for e in env.delegated] == [event["id"]]


def test_concurrent_duplicates_act_once(env: Env) -> None:
    body = json.dumps(fixture("eb_model_package_approved.json")).encode()
    responses = env.client.post_many(PATH, body, AUTH, 8)
    assert [r.status_code for r in responses] == [200] * 8
    results = sorted(r.json()["results"][0] for r in responses)
    assert results == ["delegated"] + ["duplicate"] * 7
    assert len(env.delegated) == 1


def test_default_handler_is_the_slack_notifications(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    monkeypatch.setattr(
        eventbridge, "handle_platform_event", lambda services, notifier, event: seen.append(event.id)
    )
    event = fixture("eb_pipeline_step_failed.json")
    assert dispatch_eventbridge(env.services, env.notifier, event) == "delegated"
    assert seen == [event["id"]]


def test_direct_invocation_never_raises_on_bad_events(env: Env) -> None:
    assert dispatch_eventbridge(env.services, env.notifier, {"detail-type": "x"}) == "malformed"
    other = {"id": "1", "source": "aws.s3", "detail-type": "Object Created", "detail": {}}
    assert dispatch_eventbridge(env.services, env.notifier, other) == "ignored"
    broken = fixture("eb_model_package_approved.json")
    broken["detail"]["ModelPackageVersion"] = "three"
    del broken["detail"]["ModelPackageArn"]
    assert dispatch_eventbridge(env.services, env.notifier, broken) == "malformed"
    assert env.messages() == []


def test_routes_built_from_scratch_share_the_dedupe_store(env: Env) -> None:
    """A second replica (its own app, same store) does not act on a delivery again."""
    event = fixture("eb_model_package_approved.json")
    assert send(env, event).json()["results"] == ["delegated"]
    env.client = make_client(env.services, env.notifier, env.delegated)
    assert send(env, event).json()["results"] == ["duplicate"]
    assert len(env.delegated) == 1
