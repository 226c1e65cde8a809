"""infra/template.yaml's scheduled work: the schedule that invokes the bot with the payload its handler
recognises, its scoped role, and the approval expiry settings passed to the function."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from bot.settings import load_settings
from runtimes.lambda_handler import SCHEDULED_WORK_EVENT
from tests.infra.cfn import load_template, resources
from tests.infra.test_drift_template import statements


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def test_the_schedule_invokes_the_bot_with_the_scheduled_work_payload(template: dict[str, Any]) -> None:
    props = resources(template, "AWS::Scheduler::Schedule")["ScheduledWorkSchedule"]["Properties"]
    assert props["ScheduleExpression"] == {"Ref": "ScheduledWorkRate"}
    parameter = template["Parameters"]["ScheduledWorkRate"]
    assert parameter["Default"] == "rate(5 minutes)"
    assert re.fullmatch(parameter["AllowedPattern"], "rate(1 minute)")
    assert not re.fullmatch(parameter["AllowedPattern"], "every minute")
    target = props["Target"]
    assert target["Arn"] == {"Fn::GetAtt": ["BotFunction", "Arn"]}
    assert json.loads(target["Input"]) == dict(SCHEDULED_WORK_EVENT)
    assert target["RoleArn"] == {"Fn::GetAtt": ["ScheduledWorkRole", "Arn"]}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}


def test_the_schedule_role_may_invoke_only_the_bot(template: dict[str, Any]) -> None:
    role = resources(template)["ScheduledWorkRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    found = statements(template, "ScheduledWorkRole")
    assert found["InvokeScheduledWork"]["Action"] == "lambda:InvokeFunction"
    assert found["InvokeScheduledWork"]["Resource"] == {"Fn::GetAtt": ["BotFunction", "Arn"]}
    assert found["ScheduleDeadLetters"]["Resource"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    assert set(found) == {"InvokeScheduledWork", "ScheduleDeadLetters", "DeadLetterQueueKey"}


def test_the_function_gets_the_approval_expiry_settings(template: dict[str, Any]) -> None:
    env = resources(template)["BotFunction"]["Properties"]["Environment"]["Variables"]
    assert env["MLOPS_APPROVAL_TTL"] == {"Ref": "ApprovalTtl"}
    assert env["MLOPS_APPROVAL_REMINDERS"] == {"Ref": "ApprovalReminders"}
    ttl, reminders = template["Parameters"]["ApprovalTtl"], template["Parameters"]["ApprovalReminders"]
    assert load_settings(mlops_approval_ttl=ttl["Default"], mlops_approval_reminders=reminders["Default"])
    for good in ("off", "72h", "30m", "10s"):
        assert re.fullmatch(ttl["AllowedPattern"], good), good
    assert not re.fullmatch(ttl["AllowedPattern"], "3 days")
    for good in ("", "24h", "24h,4h"):
        assert re.fullmatch(reminders["AllowedPattern"], good), good
    assert not re.fullmatch(reminders["AllowedPattern"], "24h, 4h")
