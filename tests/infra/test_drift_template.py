"""infra/template.yaml's drift check: function and layer, schedule, scoped roles, example alarm."""

from __future__ import annotations

import importlib.util
import re
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings
from ml.drift.check import DriftThresholds
from ml.drift.metrics import DIMENSIONS, METRIC, NAMESPACE, SCORE_FEATURE
from ml.sagemaker.registry import BASELINE_SUFFIX, EVALUATION_SUFFIX
from tests.infra.cfn import Resolver, load_template, resources
from tests.infra.test_template import as_list, identity_statements

ACCOUNT, REGION = "210987654321", "eu-west-1"
BUCKET = "mlops-artifacts"
#: the AWS SDK for pandas account that publishes its managed layers in the commercial regions
PANDAS_ACCOUNT = "336392948345"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def resolver(template: dict[str, Any], **overrides: Any) -> Resolver:
    return Resolver(template, ACCOUNT, REGION, ArtifactsBucketName=BUCKET, **overrides)


def statements(template: dict[str, Any], role: str) -> dict[str, dict[str, Any]]:
    found = {stmt["Sid"]: stmt for name, stmt in identity_statements(template) if name == role}
    assert found, f"no statements for {role}"
    return found


def granted(template: dict[str, Any], role: str, action: str) -> list[str]:
    resolve = resolver(template)
    return [
        str(arn)
        for stmt in statements(template, role).values()
        if action in as_list(stmt["Action"])
        for arn in as_list(resolve(stmt["Resource"]))
    ]


def allows(arns: list[str], arn: str) -> bool:
    return any(fnmatchcase(arn, pattern) for pattern in arns)


def test_the_function_runs_the_drift_handler_with_the_pandas_layer(template: dict[str, Any]) -> None:
    fn = resources(template)["DriftFunction"]["Properties"]
    assert fn["Handler"] == "runtimes.lambda_drift.handler"
    spec = importlib.util.find_spec("runtimes.lambda_drift")
    assert spec is not None and spec.origin is not None
    assert "\ndef handler(" in Path(spec.origin).read_text()
    # the layer is built for one Python and one architecture: the function must match both
    assert fn["Runtime"] == "python3.11" and fn["Architectures"] == ["x86_64"]
    assert fn["Role"] == {"Fn::GetAtt": ["DriftFunctionRole", "Arn"]}
    (layer,) = fn["Layers"]
    condition, managed, given = layer["Fn::If"]
    assert condition == "ManagedPandasLayer" and given == {"Ref": "PandasLayerArn"}
    resolved = resolver(template)(managed)
    assert resolved == f"arn:aws:lambda:{REGION}:{PANDAS_ACCOUNT}:layer:AWSSDKPandas-Python311:33"
    assert template["Conditions"]["ManagedPandasLayer"] == {"Fn::Equals": [{"Ref": "PandasLayerArn"}, ""]}
    pattern = template["Parameters"]["PandasLayerArn"]["AllowedPattern"]
    assert re.fullmatch(pattern, "") and re.fullmatch(pattern, resolved)
    assert re.fullmatch(pattern, "arn:aws:lambda:ap-east-1:839552336658:layer:AWSSDKPandas-Python311:32")
    assert not re.fullmatch(pattern, "AWSSDKPandas-Python311")


def test_the_function_retries_and_parks_failures_like_the_bot(template: dict[str, Any]) -> None:
    drift = resources(template)["DriftFunction"]["Properties"]
    bot = resources(template)["BotFunction"]["Properties"]
    for key in ("DeadLetterQueue", "EventInvokeConfig", "KmsKeyArn", "Tracing"):
        assert drift[key] == bot[key], key
    assert drift["Timeout"] <= 900 and drift["ReservedConcurrentExecutions"] == 1
    assert drift["LoggingConfig"]["LogGroup"] == {"Ref": "DriftLogGroup"}


def test_the_function_environment_is_the_bots_where_they_share_a_setting(template: dict[str, Any]) -> None:
    drift = resources(template)["DriftFunction"]["Properties"]["Environment"]["Variables"]
    bot = resources(template)["BotFunction"]["Properties"]["Environment"]["Variables"]
    settings = {name.upper() for name in Settings.model_fields}
    assert set(drift) - settings == {"MLOPS_SECRETS_ARN"}
    assert set(drift) <= set(bot)
    assert {k: v for k, v in bot.items() if k in drift} == drift
    assert drift["MLOPS_BACKEND"] == "sagemaker" and drift["MLOPS_STORE"] == "dynamodb"


def test_the_schedule_invokes_the_function_hourly_with_retries_and_dead_letters(
    template: dict[str, Any],
) -> None:
    schedule = resources(template, "AWS::Scheduler::Schedule")
    assert set(schedule) == {"DriftCheckSchedule", "ScheduledWorkSchedule"}  # the other: approval expiry
    props = schedule["DriftCheckSchedule"]["Properties"]
    assert props["ScheduleExpression"] == {"Ref": "DriftSchedule"}
    parameter = template["Parameters"]["DriftSchedule"]
    assert parameter["Default"] == "rate(1 hour)"
    for good in ("rate(1 hour)", "rate(30 minutes)", "cron(0 * * * ? *)"):
        assert re.fullmatch(parameter["AllowedPattern"], good), good
    assert not re.fullmatch(parameter["AllowedPattern"], "hourly")
    target = props["Target"]
    assert target["Arn"] == {"Fn::GetAtt": ["DriftFunction", "Arn"]}
    assert target["RoleArn"] == {"Fn::GetAtt": ["DriftScheduleRole", "Arn"]}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}


def test_the_schedule_role_may_invoke_only_the_drift_function(template: dict[str, Any]) -> None:
    role = resources(template)["DriftScheduleRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    found = statements(template, "DriftScheduleRole")
    assert found["InvokeDriftCheck"]["Action"] == "lambda:InvokeFunction"
    assert found["InvokeDriftCheck"]["Resource"] == {"Fn::GetAtt": ["DriftFunction", "Arn"]}
    assert found["ScheduleDeadLetters"]["Resource"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    assert found["DeadLetterQueueKey"]["Resource"] == {"Fn::GetAtt": ["BotKey", "Arn"]}
    assert set(found) == {"InvokeDriftCheck", "ScheduleDeadLetters", "DeadLetterQueueKey"}


def test_the_drift_role_reads_productions_captures_and_the_baselines_only(template: dict[str, Any]) -> None:
    reads = granted(template, "DriftFunctionRole", "s3:GetObject")
    capture = f"arn:aws:s3:::{BUCKET}/mlops/capture/mlops-xgboost-production/AllTraffic/2026/12/07/17/a.jsonl"
    run = f"arn:aws:s3:::{BUCKET}/mlops-xgboost-pipeline/execution-1a2b"
    assert allows(reads, capture)
    assert allows(reads, run + BASELINE_SUFFIX) and allows(reads, run + EVALUATION_SUFFIX)
    for other in (
        capture.replace("production", "staging"),
        f"arn:aws:s3:::{BUCKET}/mlops/code/train.py",
        f"{run}/TrainModel/model.tar.gz",
        f"arn:aws:s3:::{BUCKET}/other-pipeline/execution-1/PreprocessData/baseline/drift.json",
    ):
        assert not allows(reads, other), other
    listing = statements(template, "DriftFunctionRole")["CapturedTrafficListing"]
    prefixes = resolver(template)(listing["Condition"]["StringLike"]["s3:prefix"])
    assert prefixes == ["mlops/capture/mlops-xgboost-production/", "mlops/capture/mlops-xgboost-production/*"]


def test_the_drift_role_changes_nothing_it_does_not_own(template: dict[str, Any]) -> None:
    actions = {
        a for stmt in statements(template, "DriftFunctionRole").values() for a in as_list(stmt["Action"])
    }
    sagemaker = {a for a in actions if a.startswith("sagemaker:")}
    assert sagemaker == {
        "sagemaker:DescribeEndpoint",
        "sagemaker:DescribeModelPackage",
        "sagemaker:ListEndpointConfigs",
        "sagemaker:ListTags",
    }
    assert not {a for a in actions if a.startswith(("s3:Put", "s3:Delete", "iam:", "lambda:"))}
    assert "cloudwatch:PutMetricData" not in actions  # the metric goes out as log lines (EMF)
    by_service = {
        service: [
            s["Resource"] for s in statements(template, "DriftFunctionRole").values() if service in str(s)
        ]
        for service in ("dynamodb:", "secretsmanager:", "kms:", "sqs:")
    }
    assert by_service == {
        "dynamodb:": [{"Fn::GetAtt": ["StateTable", "Arn"]}],
        "secretsmanager:": [{"Ref": "BotSecret"}],
        "kms:": [{"Fn::GetAtt": ["BotKey", "Arn"]}],
        "sqs:": [{"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}],
    }


def test_the_key_lets_logs_encrypt_the_drift_functions_log_group(template: dict[str, Any]) -> None:
    policy = resources(template)["BotKey"]["Properties"]["KeyPolicy"]["Statement"]
    (logs,) = [s for s in policy if s.get("Sid") == "CloudWatchLogsOfTheBot"]
    arns = resolver(template)(logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"])
    group = resolver(template)(resources(template)["DriftLogGroup"]["Properties"]["LogGroupName"])
    assert f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}" in arns


def test_the_example_alarm_watches_productions_score_psi(template: dict[str, Any]) -> None:
    alarm = resources(template)["DriftScoreAlarm"]
    assert alarm["Condition"] == "CreateDriftAlarm"
    props = alarm["Properties"]
    assert (props["Namespace"], props["MetricName"]) == (NAMESPACE, METRIC)
    assert props["Dimensions"] == [
        {"Name": DIMENSIONS[0], "Value": "production"},
        {"Name": DIMENSIONS[1], "Value": SCORE_FEATURE},
    ]
    assert (
        props["Threshold"] == DriftThresholds().drift
        and props["ComparisonOperator"] == "GreaterThanThreshold"
    )
    assert props["TreatMissingData"] == "notBreaching"
    assert template["Parameters"]["DriftAlarm"]["AllowedValues"] == ["enabled", "disabled"]
