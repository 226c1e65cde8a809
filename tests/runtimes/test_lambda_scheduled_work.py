"""The scheduled-work payload on Lambda (what infra/template.yaml's ScheduledWorkSchedule sends): one round
of due reminders, each sent once however many invocations run, on DynamoDB under moto."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from ml.platform import ApprovalStatus, ModelPackage
from runtimes.slack_local import group_id
from tests.runtimes import test_lambda_handler as lambda_env
from tests.runtimes.test_lambda_handler import Env

#: the Lambda environment's fixtures: moto, the secret, the LocalSlack, a cold start of the handler
env, jwks_url, signing_key = lambda_env.env, lambda_env.jwks_url, lambda_env.signing_key
local_slack_options = lambda_env.local_slack_options


@pytest.fixture
def expiring(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set before ``env`` builds the runtime: approvals expire after 72h, with a reminder 4h before."""
    monkeypatch.setenv("MLOPS_APPROVAL_TTL", "72h")
    monkeypatch.setenv("MLOPS_APPROVAL_REMINDERS", "4h")


def test_the_scheduled_payload_sends_a_due_reminder_once(expiring: None, env: Env) -> None:
    release = env.module.runtime().services.release
    registered = datetime.now(UTC) - timedelta(hours=69)  # the 4h reminder fell due an hour ago
    package = ModelPackage(
        7, "arn:aws:sagemaker:::model-package/x/7", "x", ApprovalStatus.PENDING, registered
    )
    assert release.open_approval_window(package) is not None

    payload = dict(env.module.SCHEDULED_WORK_EVENT)
    assert env.handle(payload) == {"reminded": [7], "expired": [], "skipped": 0}
    posts = [json.dumps(c.args) for c in env.slack.calls("chat.postMessage")]
    assert len(posts) == 1 and "v7 is waiting for approval" in posts[0]
    assert f"<!subteam^{group_id('ml-approvers')}|ml-approvers>" in posts[0]
    # EventBridge Scheduler may deliver twice, and another instance may run the same round
    assert env.handle(payload) == {"reminded": [], "expired": [], "skipped": 0}
    assert len(env.slack.calls("chat.postMessage")) == 1


def test_an_unknown_direct_payload_is_still_refused(env: Env) -> None:
    with pytest.raises(ValueError, match="scheduled-work"):
        env.handle({"mlops-bot": "something-else"})
