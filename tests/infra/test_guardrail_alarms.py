"""infra/template.yaml's rollout guardrails: the alarms equal ml/guardrails.DEFAULT_RULES, the bot is
told their names, and may stop a rollout through them and shift traffic to a warm variant."""

from __future__ import annotations

from typing import Any

import pytest

from ml.guardrails import DEFAULT_RULES, default_alarm_names
from ml.sagemaker.traffic import SERVING_VARIANT
from tests.infra.cfn import Resolver, load_template, resources
from tests.infra.test_template import as_list, identity_statements

ACCOUNT, REGION = "123456789012", "eu-west-1"
ROLLOUT_ACTIONS = {
    "cloudwatch:SetAlarmState",
    "cloudwatch:GetMetricData",
    "cloudwatch:DescribeAlarms",
    "sagemaker:UpdateEndpointWeightsAndCapacities",
}
THRESHOLD_PARAMETERS = {
    "Invocation5XXErrors": "RollbackErrorThreshold",
    "ModelLatency": "RollbackLatencyThreshold",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def guardrail_alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: res["Properties"]
        for name, res in resources(template, "AWS::CloudWatch::Alarm").items()
        if res["Properties"]["Namespace"] == "AWS/SageMaker"
    }


def test_one_alarm_per_default_rule_with_the_same_metric_and_threshold(template: dict[str, Any]) -> None:
    resolve = Resolver(template, ACCOUNT, REGION)
    endpoint = resolve.values["ProductionEndpointName"]
    alarms = {resolve(p["AlarmName"]): p for p in guardrail_alarms(template).values()}
    assert sorted(alarms) == sorted(default_alarm_names(endpoint))
    for rule in DEFAULT_RULES:
        alarm = alarms[rule.alarm_name(endpoint)]
        assert alarm["MetricName"] == rule.metric
        statistic = alarm.get("ExtendedStatistic") or alarm.get("Statistic")
        assert statistic == rule.statistic
        assert (alarm["Period"], alarm["EvaluationPeriods"]) == (rule.period_seconds, rule.evaluation_periods)
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        parameter = THRESHOLD_PARAMETERS[rule.metric]
        assert alarm["Threshold"] == {"Ref": parameter}
        assert float(template["Parameters"][parameter]["Default"]) == rule.threshold
        dimensions = {d["Name"]: resolve(d["Value"]) for d in alarm["Dimensions"]}
        # the new fleet shares the serving variant's name, which a blue/green update keeps
        assert dimensions == {"EndpointName": endpoint, "VariantName": SERVING_VARIANT}


def test_the_bot_is_told_the_rollback_alarms(template: dict[str, Any]) -> None:
    resolve = Resolver(template, ACCOUNT, REGION)
    variables = template["Resources"]["BotFunction"]["Properties"]["Environment"]["Variables"]
    endpoint = resolve.values["ProductionEndpointName"]
    assert resolve(variables["MLOPS_ROLLBACK_ALARMS"]).split(",") == list(default_alarm_names(endpoint))


def test_the_bot_may_shift_weights_read_metrics_and_set_only_its_rollback_alarms(
    template: dict[str, Any],
) -> None:
    resolve = Resolver(template, ACCOUNT, REGION)
    endpoint = resolve.values["ProductionEndpointName"]
    granted: dict[str, set[str]] = {}
    for role, stmt in identity_statements(template):
        if role != "BotFunctionRole" or stmt.get("Effect") != "Allow":
            continue
        for action in set(as_list(stmt["Action"])) & ROLLOUT_ACTIONS:
            granted.setdefault(action, set()).update(resolve(r) for r in as_list(stmt["Resource"]))
    alarm_arn = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:"
    assert granted["cloudwatch:SetAlarmState"] == {alarm_arn + n for n in default_alarm_names(endpoint)}
    assert (
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{endpoint}"
        in granted["sagemaker:UpdateEndpointWeightsAndCapacities"]
    )
    assert granted["cloudwatch:GetMetricData"] == {"*"}
    assert "cloudwatch:DescribeAlarms" in granted
