"""POST /github/webhook: signature first, then one message per workflow run updated in place."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from bot.ingest.github import (
    GitHubFilter,
    JobFailure,
    WebhookError,
    WorkflowRun,
    parse_event,
    sign,
    verify_signature,
)
from tests.handlers.events.conftest import GH_SECRET, REPO, Env, fixture

PATH = "/github/webhook"
RUN_URL = "https://github.com/acme-ml/mlops-models/actions/runs/11873920455"
_delivery = iter(range(10_000))


def deliver(
    env: Env,
    event: str,
    payload: Any,
    *,
    delivery: str | None = None,
    secret: str | None = GH_SECRET,
    signature: str | None = None,
) -> Any:
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or f"72d3162e-cc78-11e3-81ab-{next(_delivery):012d}",
        "User-Agent": "GitHub-Hookshot/8d3bd0e",
    }
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    elif secret is not None:
        headers["X-Hub-Signature-256"] = sign(secret, body)
    return env.client.post(PATH, body, headers)


def run_payload(status: str, conclusion: str | None = None, attempt: int = 1) -> dict[str, Any]:
    payload = fixture("gh_workflow_run_requested.json")
    payload["action"] = {"queued": "requested"}.get(status, status)
    payload["workflow_run"].update(status=status, conclusion=conclusion, run_attempt=attempt)
    return payload


# -- signature ------------------------------------------------------------------------------------


def test_signature_helpers() -> None:
    body = b'{"zen": "Design for failure."}'
    good = sign("s3cret", body)
    assert good.startswith("sha256=") and len(good) == 7 + 64
    assert verify_signature("s3cret", body, good)
    assert verify_signature("s3cret", body, good.upper().replace("SHA256=", "sha256="))
    assert not verify_signature("s3cret", body + b" ", good)
    assert not verify_signature("other", body, good)
    assert not verify_signature("s3cret", body, good.replace("sha256=", "sha1="))
    assert not verify_signature("s3cret", body, "sha256=")
    assert not verify_signature("s3cret", body, None)
    assert not verify_signature(None, body, good)
    assert not verify_signature("", body, sign("", body))


def test_ping(env: Env) -> None:
    resp = deliver(env, "ping", fixture("gh_ping.json"))
    assert resp.status_code == 200
    assert resp.json() == {"ok": True, "zen": "Keep it logically awesome.", "hook_id": 471829374}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"secret": None},  # no signature header
        {"secret": "not-the-secret"},
        {"signature": "sha256=" + "0" * 64},
        {"signature": "sha1=2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"},
        {"signature": "garbage"},
    ],
)
def test_bad_or_missing_signature_is_401_and_posts_nothing(env: Env, kwargs: dict[str, Any]) -> None:
    resp = deliver(env, "workflow_run", run_payload("queued"), **kwargs)
    assert resp.status_code == 401
    assert "X-Hub-Signature-256" in resp.json()["reason"]
    assert env.messages() == []


def test_signature_over_another_body_is_refused(env: Env) -> None:
    genuine = json.dumps(run_payload("queued")).encode()
    forged = json.dumps(run_payload("completed", "success")).encode()
    headers = {"X-GitHub-Event": "workflow_run", "X-Hub-Signature-256": sign(GH_SECRET, genuine)}
    assert env.client.post(PATH, forged, headers).status_code == 401
    assert env.messages() == []


def test_no_secret_configured_fails_closed(env: Env) -> None:
    env.rebuild(github_webhook_secret=None)
    resp = deliver(env, "ping", fixture("gh_ping.json"))
    assert resp.status_code == 401
    assert "GITHUB_WEBHOOK_SECRET is not configured" in resp.json()["reason"]


def test_signature_is_checked_before_parsing(env: Env) -> None:
    body = b"{this is not json"
    assert env.client.post(PATH, body, {"X-GitHub-Event": "push"}).status_code == 401
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": sign(GH_SECRET, body)}
    resp = env.client.post(PATH, body, headers)
    assert resp.status_code == 400
    assert "not JSON" in resp.json()["error"]


def test_malformed_payloads_are_400(env: Env) -> None:
    payload = run_payload("queued")
    del payload["workflow_run"]["html_url"]
    resp = deliver(env, "workflow_run", payload)
    assert resp.status_code == 400
    assert "workflow_run.html_url is missing" in resp.json()["error"]
    payload = run_payload("queued")
    payload["workflow_run"]["id"] = "not-a-number"
    assert "workflow_run.id must be a number" in deliver(env, "workflow_run", payload).json()["error"]
    body = json.dumps(run_payload("queued")).encode()
    resp = env.client.post(PATH, body, {"X-Hub-Signature-256": sign(GH_SECRET, body)})
    assert resp.status_code == 400
    assert "X-GitHub-Event" in resp.json()["error"]
    assert env.messages() == []


# -- workflow runs ------------------------------------------------------------------------------------


def test_one_message_per_run_updated_in_place(env: Env) -> None:
    assert deliver(env, "workflow_run", run_payload("queued")).json()["result"] == "run_queued"
    (msg,) = env.messages()
    assert "Train and register #214" in msg.text and "queued" in msg.text

    assert deliver(env, "workflow_run", run_payload("in_progress")).json()["result"] == "run_in_progress"
    (msg,) = env.messages()
    assert "in progress" in msg.text

    assert (
        deliver(env, "workflow_run", run_payload("completed", "failure")).json()["result"] == "run_completed"
    )
    (msg,) = env.messages()
    assert msg.revision == 2
    assert ":rotating_light:" in msg.text and "failure" in msg.text and RUN_URL in msg.text
    blocks = json.dumps(msg.blocks)
    assert "*FAILURE*" in blocks and RUN_URL in blocks and "Tune max_depth" in blocks
    assert len(env.calls("chat.postMessage")) == 1
    assert len(env.calls("chat.update")) == 2


@pytest.mark.parametrize(
    "html_url", ["javascript:alert(1)", "https://evil.example/acme-ml/mlops-models/actions/runs/11873920455"]
)
def test_a_run_links_to_github_built_from_its_repository_and_id_never_the_payloads_url(
    env: Env, html_url: str
) -> None:
    payload = run_payload("completed", "failure")
    payload["workflow_run"]["html_url"] = html_url
    assert deliver(env, "workflow_run", payload).status_code == 200
    (msg,) = env.messages()
    shown = json.dumps(msg.blocks) + msg.text
    assert f"<{RUN_URL}|Train and register #214>" in shown
    assert "evil.example" not in shown and "javascript" not in shown


def test_success_is_quiet(env: Env) -> None:
    deliver(env, "workflow_run", run_payload("completed", "success"))
    (msg,) = env.messages()
    assert ":rotating_light:" not in msg.text and ":white_check_mark:" in json.dumps(msg.blocks)


def test_a_late_older_state_does_not_overwrite_a_newer_one(env: Env) -> None:
    deliver(env, "workflow_run", run_payload("completed", "failure"))
    assert deliver(env, "workflow_run", run_payload("in_progress")).json()["result"] == "stale"
    assert deliver(env, "workflow_run", run_payload("queued")).json()["result"] == "stale"
    (msg,) = env.messages()
    assert msg.revision == 0 and "failure" in msg.text


def test_a_rerun_updates_the_same_message(env: Env) -> None:
    deliver(env, "workflow_run", run_payload("completed", "failure"))
    env.messages()
    assert deliver(env, "workflow_run", run_payload("queued", attempt=2)).json()["result"] == "run_queued"
    deliver(env, "workflow_run", run_payload("completed", "success", attempt=2))
    (msg,) = env.messages()
    assert "attempt 2" in msg.text and "success" in msg.text


def test_a_redelivery_acts_once(env: Env) -> None:
    payload = run_payload("completed", "failure")
    first = deliver(env, "workflow_run", payload, delivery="d-1")
    again = deliver(env, "workflow_run", payload, delivery="d-1")
    assert (first.json()["result"], again.json()["result"]) == ("run_completed", "duplicate")
    assert len(env.messages()) == 1
    assert len(env.calls("chat.postMessage")) == 1


def test_job_failure_is_a_reply_in_the_run_thread_and_said_once(env: Env) -> None:
    deliver(env, "workflow_run", run_payload("in_progress"))
    assert deliver(env, "workflow_job", fixture("gh_workflow_job_failed.json")).json()["result"] == (
        "workflow_job_failure"
    )
    # GitHub Actions reports the same failed job as a check run: it is not said twice
    assert deliver(env, "check_run", fixture("gh_check_run_failed.json")).json()["result"] == "duplicate"
    run, reply = env.messages()
    assert reply.thread_ts == run.ts
    assert ":rotating_light:" in reply.text and "validate-staging" in reply.text
    assert "Run staging validation" in json.dumps(reply.blocks)
    assert "Report to mlops-bot" not in json.dumps(reply.blocks)  # skipped, not failed


def test_check_run_failure_without_a_job_event(env: Env) -> None:
    deliver(env, "workflow_run", run_payload("in_progress"))
    assert (
        deliver(env, "check_run", fixture("gh_check_run_failed.json")).json()["result"] == "check_run_failure"
    )
    run, reply = env.messages()
    assert reply.thread_ts == run.ts and "Check" in reply.text


def test_successful_jobs_and_other_actions_are_ignored(env: Env) -> None:
    job = fixture("gh_workflow_job_failed.json")
    job["workflow_job"]["conclusion"] = "success"
    assert deliver(env, "workflow_job", job).json() == {"ok": True, "ignored": "workflow_job"}
    job["action"] = "in_progress"
    assert deliver(env, "workflow_job", job).json()["ignored"] == "workflow_job"
    check = fixture("gh_check_run_failed.json")
    check["action"] = "created"
    assert deliver(env, "check_run", check).json()["ignored"] == "check_run"
    assert deliver(env, "push", {"ref": "refs/heads/main"}).json()["ignored"] == "push"
    assert env.messages() == []


def test_deployment_status_failure_is_loud_in_the_run_thread(env: Env) -> None:
    deliver(env, "workflow_run", run_payload("in_progress"))
    pending = fixture("gh_deployment_status_failure.json")
    pending["deployment_status"]["state"] = "in_progress"
    assert deliver(env, "deployment_status", pending).json()["result"] == "deployment_in_progress"
    failed = fixture("gh_deployment_status_failure.json")
    assert deliver(env, "deployment_status", failed).json()["result"] == "deployment_failure"
    assert deliver(env, "deployment_status", pending).json()["result"] == "stale"
    run, deployment = env.messages()
    assert deployment.thread_ts == run.ts
    assert ":rotating_light:" in deployment.text and "production" in deployment.text
    assert "Smoke test against the production endpoint failed" in json.dumps(deployment.blocks)


def test_other_repositories_are_not_announced(env: Env) -> None:
    payload = run_payload("completed", "failure")
    payload["repository"]["full_name"] = "someone/else"
    assert deliver(env, "workflow_run", payload).json()["result"] == "filtered"
    assert env.messages() == []


def test_repository_names_compare_case_insensitively(env: Env) -> None:
    payload = run_payload("queued")
    payload["repository"]["full_name"] = REPO.upper()
    assert deliver(env, "workflow_run", payload).json()["result"] == "run_queued"


def test_no_configured_repository_announces_nothing_and_warns_once(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    env.rebuild(github_repositories=[])
    with caplog.at_level(logging.WARNING, logger="handlers.events.routes"):
        assert deliver(env, "workflow_run", run_payload("queued")).json()["result"] == "not_configured"
        assert deliver(env, "workflow_run", run_payload("in_progress")).json()["result"] == "not_configured"
    assert [r.message for r in caplog.records].count(
        "GITHUB_REPOSITORIES is empty: GitHub webhooks are accepted but not announced"
    ) == 1
    assert env.messages() == []


def test_workflow_allow_list(env: Env) -> None:
    env.rebuild(github_workflows=["Nightly evaluation"])
    assert deliver(env, "workflow_run", run_payload("queued")).json()["result"] == "filtered"
    assert deliver(env, "check_run", fixture("gh_check_run_failed.json")).json()["result"] == "filtered"
    env.rebuild(github_workflows=["Train and register"])
    assert deliver(env, "workflow_run", run_payload("queued")).json()["result"] == "run_queued"
    # a check run names no workflow: it is allowed because its run was announced
    assert deliver(env, "check_run", fixture("gh_check_run_failed.json")).json()["result"] == (
        "check_run_failure"
    )
    assert len(env.messages()) == 2


# -- parsing variations -------------------------------------------------------------------------------


def test_missing_optional_fields_and_extra_fields() -> None:
    payload = run_payload("queued")
    for name in ("run_number", "head_branch", "head_sha", "display_title", "actor", "triggering_actor"):
        del payload["workflow_run"][name]
    del payload["workflow_run"]["run_attempt"]
    payload["workflow_run"]["name"] = None
    payload["workflow_run"]["a_field_added_later"] = {"x": 1}
    run = parse_event("workflow_run", payload)
    assert isinstance(run, WorkflowRun)
    assert (run.workflow, run.attempt, run.run_number) == ("Train and register", 1, None)


def test_job_without_run_id_reads_it_from_its_url() -> None:
    payload = fixture("gh_workflow_job_failed.json")
    del payload["workflow_job"]["run_id"]
    job = parse_event("workflow_job", payload)
    assert isinstance(job, JobFailure) and job.run_id == 11873920455


def test_filter_rules() -> None:
    job = parse_event("check_run", fixture("gh_check_run_failed.json"))
    assert isinstance(job, JobFailure)
    assert GitHubFilter.create([REPO], []).allows(job)
    assert not GitHubFilter.create(["acme-ml/other"], []).allows(job)
    assert not GitHubFilter.create([REPO], ["Train and register"]).allows(job)
    assert GitHubFilter.create([REPO], ["Train and register"]).allows(job, run_announced=True)


def test_payload_must_be_an_object() -> None:
    with pytest.raises(WebhookError, match="JSON object"):
        parse_event("workflow_run", [1, 2])
    with pytest.raises(WebhookError, match="no repository object"):
        parse_event("workflow_run", {"action": "requested", "workflow_run": {"id": 1, "html_url": "x"}})
