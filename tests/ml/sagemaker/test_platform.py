"""SageMakerPlatform against moto (in process), with moto's missing operations from ``moto_sagemaker``."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from ml.parameters import SAGEMAKER, declared
from ml.platform import (
    PIPELINE_STEPS,
    ApprovalStatus,
    EndpointStatus,
    ExecutionStatus,
    InvalidRequest,
    MLPlatform,
    NotFound,
    PlatformError,
    RolledBack,
    StepStatus,
)
from ml.rollout_policy import RolloutPolicy
from ml.sagemaker import AccessDenied, DeploymentFailed, SageMakerConfig, SageMakerPlatform, Throttled, naming
from ml.sagemaker.errors import AwsUnavailable, translate_error
from ml.sagemaker.naming import config_name, parse_config_name
from ml.sagemaker.pipelines import start_execution
from tests.ml.sagemaker import moto_sagemaker
from tests.ml.sagemaker.conftest import ENDPOINTS, GROUP, REGION, FakeClock, make_config
from tests.ml.sagemaker.moto_sagemaker import register_model_package, seed_execution, step


# -- test utilities -------------------------------------------------------------------------------------
def inject_error(operation: str, code: str, message: str, *, status: int = 400, times: int = 1) -> None:
    moto_sagemaker.inject_failure(operation, code, message, status=status, times=times)


def count_calls(client: Any, event: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    client.meta.events.register(event, lambda params, **_: seen.append(dict(params)))
    return seen


def approved(sm: Any, s3: Any, n: int = 1, **kwargs: Any) -> list[int]:
    return [
        register_model_package(sm, s3, GROUP, approval_status="Approved", **kwargs).version for _ in range(n)
    ]


def endpoint_config_of(sm: Any, env: str) -> str:
    return str(sm.describe_endpoint(EndpointName=ENDPOINTS[env])["EndpointConfigName"])


def names(sm: Any) -> tuple[set[str], set[str]]:
    models = {m["ModelName"] for m in sm.list_models()["Models"]}
    configs = {c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]}
    return models, configs


# -- protocol and parameters ---------------------------------------------------------------------------
def test_platform_satisfies_the_protocol(platform: SageMakerPlatform) -> None:
    assert isinstance(platform, MLPlatform)
    assert platform.model_package_group == GROUP
    assert platform.endpoint_name("production") == "churn-production"


def test_pipeline_parameters_are_the_spec_minus_policy(platform: SageMakerPlatform) -> None:
    specs = platform.pipeline_parameters()
    assert dict(specs) == {n: s for n, s in declared(SAGEMAKER).items() if n != "ModelApprovalStatus"}
    assert specs["TrainingInstanceType"].default == "ml.m5.xlarge"
    assert specs["AccuracyThreshold"].default == 0.8
    assert (specs["num_round"].type, specs["num_round"].default) == ("integer", 100)
    assert all(specs[n].hyperparameter for n in ("num_round", "max_depth", "eta"))
    assert not specs["InputData"].hyperparameter


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        (
            {"max_dept": "4"},
            r"Unknown parameter 'max_dept'\. Did you mean 'max_depth'\? Valid parameters: ",
        ),
        ({"NUM_ROUND": "4"}, r"Did you mean 'num_round'\?"),
        ({"num_round": "ten"}, r"num_round='ten' is not an integer"),
        ({"max_depth": "4.5"}, r"max_depth='4.5' is not an integer"),
        ({"eta": "fast"}, r"eta='fast' is not a number"),
        ({"eta": "nan"}, r"eta='nan' is not a number"),
        ({"subsample": "1.5"}, r"subsample='1\.5' is out of range: expected a number between 0\.1 and 1"),
        ({"num_round": "0"}, r"num_round='0' is out of range: expected an integer between 1 and 2000"),
        ({"AccuracyThreshold": "0.7"}, r"below the minimum this deployment sets"),
        ({"ModelApprovalStatus": "Approved"}, r"ModelApprovalStatus is set by the deployment, not per run"),
        ({"ModelApprovalStatus": "Rejected"}, r"ModelApprovalStatus is set by the deployment, not per run"),
        ({"InputData": "/tmp/data.csv"}, r"InputData must be an s3:// URI under an allowed prefix"),
        ({"InputData": "s3://other-bucket/x"}, r"InputData must be an s3:// URI under an allowed prefix"),
        ({"InputData": "s3://churn-data/../x"}, r"InputData must be an s3:// URI under an allowed prefix"),
        ({"InputData": "s3://churn-data2/x"}, r"InputData must be an s3:// URI under an allowed prefix"),
        ({"TrainingInstanceType": "m5.large"}, r"instance type like ml\.m5\.xlarge"),
    ],
)
def test_bad_parameters_are_refused_by_name(
    platform: SageMakerPlatform, sm: Any, parameters: dict[str, str], expected: str
) -> None:
    with pytest.raises(InvalidRequest, match=expected):
        platform.start_pipeline(parameters, "U0ALICE")
    assert (
        sm.list_pipeline_executions(PipelineName=platform.pipeline_name)["PipelineExecutionSummaries"] == []
    )


def test_unknown_parameter_lists_every_valid_name(platform: SageMakerPlatform) -> None:
    with pytest.raises(InvalidRequest) as info:
        platform.start_pipeline({"learning_rate": "0.1"}, "U0ALICE")
    for name in platform.pipeline_parameters():
        assert name in str(info.value)


# -- pipeline executions -------------------------------------------------------------------------------
def test_start_pipeline_sends_normalized_parameters_requester_and_token(
    platform: SageMakerPlatform, sm: Any
) -> None:
    sent = count_calls(platform.sagemaker, "provide-client-params.sagemaker.StartPipelineExecution")
    execution = platform.start_pipeline(
        {"num_round": " 250 ", "eta": "0.05", "InputData": "s3://churn-data/2026-11/train.csv"},
        "U0ALICE",
        "3f2c1a9",
        client_token="slack-trigger-1234567890abcdef1234567890",
    )
    assert execution.requested_by == "U0ALICE"
    assert execution.git_sha == "3f2c1a9"
    assert execution.parameters["num_round"] == "250"
    assert execution.parameters["eta"] == "0.05"
    assert execution.parameters["max_depth"] == "5"  # default shown alongside the overrides
    assert sent[0]["ClientRequestToken"] == "slack-trigger-1234567890abcdef1234567890"
    assert {p["Name"]: p["Value"] for p in sent[0]["PipelineParameters"]} == {
        "num_round": "250",
        "eta": "0.05",
        "InputData": "s3://churn-data/2026-11/train.csv",
        "AccuracyThreshold": "0.8",  # policy, sent on every run
        "ModelApprovalStatus": "PendingManualApproval",
    }
    arn = sm.list_pipeline_executions(PipelineName=platform.pipeline_name)["PipelineExecutionSummaries"][0][
        "PipelineExecutionArn"
    ]
    described = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
    assert json.loads(described["PipelineExecutionDescription"]) == {
        "requested_by": "U0ALICE",
        "git_sha": "3f2c1a9",
    }
    assert described["PipelineExecutionDisplayName"].startswith("U0ALICE-")
    tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn)["Tags"]}
    assert tags == {"requested-by": "U0ALICE", "git-sha": "3f2c1a9"}


def test_an_execution_ci_started_carries_its_actions_run_as_origin(
    platform: SageMakerPlatform, sm: Any
) -> None:
    ci = naming.CIRun("acme-ml/mlops-models", "11873920455")
    arn, _ = start_execution(
        platform.sagemaker,
        platform.pipeline_name,
        {},
        "github:dana-k",
        "3f2c1a9",
        datetime.now(UTC),
        ci_run=ci,
    )
    execution = platform.describe_execution(arn)
    assert execution.origin == {"ci_repository": "acme-ml/mlops-models", "ci_run": "11873920455"}
    assert (execution.requested_by, execution.git_sha) == ("github:dana-k", "3f2c1a9")


def test_start_pipeline_survives_an_untaggable_execution(
    platform: SageMakerPlatform, caplog: pytest.LogCaptureFixture
) -> None:
    inject_error("AddTags", "AccessDeniedException", "not authorized to perform AddTags")
    with caplog.at_level(logging.WARNING, logger="ml.sagemaker.pipelines"):
        execution = platform.start_pipeline({}, "U0BOB")
    assert execution.requested_by == "U0BOB"
    assert "could not be tagged" in caplog.text
    assert "sagemaker:AddTags" in caplog.text


def test_describe_execution_reports_steps_in_order_with_pending_ones(platform: SageMakerPlatform) -> None:
    execution = platform.start_pipeline({}, "U0ALICE")
    arn = platform.pipelines.execution_arn(execution.execution_id)
    seed_execution(
        arn,
        status="Executing",
        steps=[step("TrainModel", "Executing"), step("PreprocessData", "Succeeded")],
    )
    described = platform.describe_execution(execution.execution_id)
    assert described.status is ExecutionStatus.EXECUTING
    assert [s.name for s in described.steps] == list(PIPELINE_STEPS)
    assert [s.status for s in described.steps] == [
        StepStatus.SUCCEEDED,
        StepStatus.EXECUTING,
        StepStatus.PENDING,
        StepStatus.PENDING,
        StepStatus.PENDING,
    ]
    assert described.ended_at is None
    assert described.model_version is None


def test_failed_execution_carries_the_failure_reason(platform: SageMakerPlatform) -> None:
    execution = platform.start_pipeline({}, "U0ALICE")
    arn = platform.pipelines.execution_arn(execution.execution_id)
    seed_execution(
        arn,
        status="Failed",
        failure_reason="Step failure: One or multiple steps failed.",
        steps=[
            step("PreprocessData", "Succeeded"),
            step("TrainModel", "Failed", failure_reason="ClientError: AlgorithmError: max_depth too large"),
        ],
    )
    described = platform.describe_execution(arn)
    assert described.status is ExecutionStatus.FAILED
    assert described.failure_reason == "Step failure: One or multiple steps failed."
    assert described.steps[1].failure_reason == "ClientError: AlgorithmError: max_depth too large"
    assert [s.name for s in described.steps] == ["PreprocessData", "TrainModel"]  # terminal: no placeholders
    assert described.ended_at is not None


def test_succeeded_execution_names_the_registered_version(platform: SageMakerPlatform) -> None:
    execution = platform.start_pipeline({}, "U0ALICE")
    package_arn = platform.package_arn(7)
    seed_execution(
        platform.pipelines.execution_arn(execution.execution_id),
        status="Succeeded",
        steps=[step(name, "Succeeded") for name in PIPELINE_STEPS[:-1]]
        + [step("RegisterModel-RegisterModel", "Succeeded", model_package_arn=package_arn)],
    )
    described = platform.describe_execution(execution.execution_id)
    assert described.model_version == 7
    assert described.steps[-1].name == "RegisterModel"


def test_list_executions_newest_first_with_limit(platform: SageMakerPlatform) -> None:
    started = []
    first = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    for minutes, who in enumerate(("U1", "U2", "U3")):
        execution_id = platform.start_pipeline({}, who).execution_id
        arn = platform.pipelines.execution_arn(execution_id)
        seed_execution(arn, status="Succeeded", started_at=first + timedelta(minutes=minutes))
        started.append(execution_id)
    listed = platform.list_executions()
    assert [e.execution_id for e in listed] == started[::-1]
    assert [e.requested_by for e in listed] == ["U3", "U2", "U1"]
    assert [e.execution_id for e in platform.list_executions(limit=2)] == started[:0:-1]


def test_stop_execution(platform: SageMakerPlatform) -> None:
    execution = platform.start_pipeline({}, "U0ALICE")
    seed_execution(
        platform.pipelines.execution_arn(execution.execution_id),
        status="Executing",
        steps=[step("TrainModel", "Executing")],
    )
    assert platform.stop_execution(execution.execution_id).status is ExecutionStatus.STOPPING
    done = platform.start_pipeline({}, "U0ALICE")  # moto runs finish at once
    with pytest.raises(InvalidRequest, match=r"already succeeded"):
        platform.stop_execution(done.execution_id)


def test_unknown_execution_is_not_found(platform: SageMakerPlatform) -> None:
    with pytest.raises(NotFound, match=r"Could not find pipeline execution 'nosuchrun'"):
        platform.describe_execution("nosuchrun")


# -- model registry ------------------------------------------------------------------------------------
def test_list_model_packages_newest_first_with_metrics_from_s3(
    platform: SageMakerPlatform, sm: Any, s3: Any
) -> None:
    first = register_model_package(sm, s3, GROUP, accuracy=0.84)
    second = register_model_package(sm, s3, GROUP, accuracy=0.88, approval_status="Approved")
    third = register_model_package(sm, s3, GROUP, accuracy=0.9, metrics={"auc": 0.95})
    gets = count_calls(platform._client("s3"), "provide-client-params.s3.GetObject")
    packages = platform.list_model_packages()
    assert [p.version for p in packages] == [third.version, second.version, first.version] == [3, 2, 1]
    assert [p.metrics["accuracy"] for p in packages] == [0.9, 0.88, 0.84]
    assert packages[0].metrics == {
        "accuracy": 0.9,
        "precision": 0.81,
        "recall": 0.74,
        "f1": 0.77,
        "auc": 0.95,
    }
    assert packages[1].approval_status is ApprovalStatus.APPROVED
    assert packages[2].lineage == first.lineage
    assert packages[2].artifact_sha256 == first.lineage["artifact_sha256"]
    assert packages[2].artifact_uri.endswith("/model/model.tar.gz")
    assert len(gets) == 3
    platform.registry.package_cache.clear()
    platform.list_model_packages()
    assert len(gets) == 3  # evaluation.json is immutable: read once per URI


def test_list_model_packages_reuses_descriptions_until_the_status_changes(
    platform: SageMakerPlatform, sm: Any, s3: Any
) -> None:
    register_model_package(sm, s3, GROUP)
    register_model_package(sm, s3, GROUP)
    describes = count_calls(platform.sagemaker, "provide-client-params.sagemaker.DescribeModelPackage")
    platform.list_model_packages()
    platform.list_model_packages()
    assert len(describes) == 2
    sm.update_model_package(ModelPackageArn=platform.package_arn(1), ModelApprovalStatus="Rejected")
    packages = platform.list_model_packages()
    assert len(describes) == 3
    assert packages[1].approval_status is ApprovalStatus.REJECTED


def test_cached_descriptions_expire_on_the_injected_clock(
    platform: SageMakerPlatform, sm: Any, s3: Any, fake_clock: FakeClock
) -> None:
    register_model_package(sm, s3, GROUP)
    describes = count_calls(platform.sagemaker, "provide-client-params.sagemaker.DescribeModelPackage")
    platform.list_model_packages()
    fake_clock.advance(platform.config.package_cache_ttl_seconds - 1)
    platform.list_model_packages()
    assert len(describes) == 1
    fake_clock.advance(1)
    platform.list_model_packages()
    assert len(describes) == 2


def test_missing_metrics_hide_numbers_but_not_the_version(
    platform: SageMakerPlatform, sm: Any, s3: Any, caplog: pytest.LogCaptureFixture
) -> None:
    registered = register_model_package(sm, s3, GROUP)
    bucket, key = registered.metrics_uri[5:].split("/", 1)
    s3.delete_object(Bucket=bucket, Key=key)
    with caplog.at_level(logging.WARNING, logger="ml.sagemaker.registry"):
        package = platform.describe_model_package(1)
    assert package.metrics == {}
    assert "Could not find" in caplog.text


def test_describe_missing_version_is_not_found(platform: SageMakerPlatform) -> None:
    with pytest.raises(NotFound, match=r"Could not find model version 42 in group 'churn-models'"):
        platform.describe_model_package(42)
    with pytest.raises(InvalidRequest, match=r"positive integers"):
        platform.describe_model_package(0)


def test_update_approval_keeps_lineage(platform: SageMakerPlatform, sm: Any, s3: Any) -> None:
    registered = register_model_package(sm, s3, GROUP)
    updated = platform.update_approval(
        1, ApprovalStatus.APPROVED, "Approved by U0CAROL: accuracy 0.87 >= 0.85"
    )
    assert updated.approval_status is ApprovalStatus.APPROVED
    assert updated.approval_description == "Approved by U0CAROL: accuracy 0.87 >= 0.85"
    assert updated.lineage == registered.lineage
    raw = sm.describe_model_package(ModelPackageName=registered.arn)
    assert raw["CustomerMetadataProperties"] == registered.lineage
    rejected = platform.update_approval(1, ApprovalStatus.REJECTED, "drift found")
    assert rejected.lineage == registered.lineage
    assert platform.list_model_packages()[0].approval_status is ApprovalStatus.REJECTED


# -- deployments ---------------------------------------------------------------------------------------
def test_deploy_refuses_unapproved_versions_and_creates_nothing(
    platform: SageMakerPlatform, sm: Any, s3: Any
) -> None:
    register_model_package(sm, s3, GROUP)
    with pytest.raises(InvalidRequest, match=r"Version 1 is PendingManualApproval; only Approved"):
        platform.deploy("staging", 1, "U0ALICE")
    platform.update_approval(1, ApprovalStatus.REJECTED, "no")
    with pytest.raises(InvalidRequest, match=r"Version 1 is Rejected"):
        platform.deploy("staging", 1, "U0ALICE")
    assert names(sm) == (set(), set())
    assert sm.list_endpoints()["Endpoints"] == []


def test_first_deploy_creates_the_endpoint(platform: SageMakerPlatform, sm: Any, s3: Any) -> None:
    (version,) = approved(sm, s3)
    info = platform.deploy("staging", version, "U0ALICE")
    assert (info.name, info.status, info.version) == ("churn-staging", EndpointStatus.IN_SERVICE, 1)
    config = endpoint_config_of(sm, "staging")
    assert parse_config_name("churn-staging", config) is not None
    described = sm.describe_endpoint_config(EndpointConfigName=config)
    variant = described["ProductionVariants"][0]
    assert (variant["InstanceType"], variant["InitialInstanceCount"], variant["ModelName"]) == (
        "ml.m5.large",
        1,
        config,
    )
    # staging captures too (tests/ml/sagemaker/test_capture.py)
    assert described["DataCaptureConfig"]["DestinationS3Uri"] == "s3://mlops-capture/churn"
    model = sm.describe_model(ModelName=config)
    assert model["Containers"][0]["ModelPackageName"] == platform.package_arn(1)
    assert model["ExecutionRoleArn"] == platform.config.execution_role_arn
    tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=described["EndpointConfigArn"])["Tags"]}
    assert tags["mlops:model-version"] == "1"
    assert tags["mlops:deployed-by"] == "U0ALICE"
    assert "mlops:served-at" in tags
    assert moto_sagemaker.update_endpoint_requests() == []
    assert platform.describe_endpoint("staging") == info


def test_second_deploy_updates_blue_green_with_alarms(
    platform: SageMakerPlatform, sm: Any, s3: Any, fake_clock: FakeClock
) -> None:
    v1, v2 = approved(sm, s3, 2)
    platform.deploy("staging", v1, "U0ALICE")
    old_config = endpoint_config_of(sm, "staging")
    fake_clock.advance(1)  # configs are stamped to the second
    info = platform.deploy("staging", v2, "U0BOB")
    assert info.version == 2
    new_config = endpoint_config_of(sm, "staging")
    assert new_config != old_config
    (request,) = moto_sagemaker.update_endpoint_requests()
    assert request["EndpointConfigName"] == new_config
    assert request["RetainAllVariantProperties"] is False
    assert request["DeploymentConfig"] == {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 20},
                "WaitIntervalInSeconds": 600,
            },
            "TerminationWaitInSeconds": 300,
            "MaximumExecutionTimeoutInSeconds": 3600,
        },
        "AutoRollbackConfiguration": {
            "Alarms": [{"AlarmName": "churn-production-5xx"}, {"AlarmName": "churn-production-latency-p95"}]
        },
    }


def test_all_at_once_strategy(sm: Any, s3: Any, session: boto3.Session, fake_clock: FakeClock) -> None:
    moto_sagemaker.create_pipeline(sm, "churn-xgb", "arn:aws:iam::123456789012:role/SageMakerExecution")
    platform = SageMakerPlatform(
        make_config(
            rollouts={"staging": RolloutPolicy("all-at-once"), "production": RolloutPolicy("all-at-once")},
            rollback_alarm_names=(),
        ),
        session,
        clock=fake_clock.clock,
    )
    v1, v2 = approved(sm, s3, 2)
    platform.deploy("staging", v1, "U1")
    fake_clock.advance(1)  # configs are stamped to the second
    platform.deploy("staging", v2, "U1")
    (request,) = moto_sagemaker.update_endpoint_requests()
    routing = request["DeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing == {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}
    assert "AutoRollbackConfiguration" not in request["DeploymentConfig"]
    platform.close()


def test_production_deploy_captures_data_and_autoscales(
    platform: SageMakerPlatform, sm: Any, s3: Any, session: boto3.Session, fake_clock: FakeClock
) -> None:
    v1, v2 = approved(sm, s3, 2)
    platform.deploy("production", v1, "U0ALICE")
    config = sm.describe_endpoint_config(EndpointConfigName=endpoint_config_of(sm, "production"))
    assert config["DataCaptureConfig"]["EnableCapture"] is True
    assert config["DataCaptureConfig"]["DestinationS3Uri"] == "s3://mlops-capture/churn"
    assert config["ProductionVariants"][0]["InitialInstanceCount"] == 2
    autoscaling = session.client("application-autoscaling")
    (target,) = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert target["ResourceId"] == "endpoint/churn-production/variant/AllTraffic"
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 10)
    (policy,) = autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert (
        tracking["PredefinedMetricSpecification"]["PredefinedMetricType"]
        == "SageMakerVariantInvocationsPerInstance"
    )
    assert tracking["TargetValue"] == 100.0
    fake_clock.advance(1)  # configs are stamped to the second
    platform.deploy("production", v2, "U0ALICE")
    (request,) = moto_sagemaker.update_endpoint_requests()
    assert request["RetainAllVariantProperties"] is True  # keep the autoscaled fleet size...
    # ...but not the weights, which an instant rollback may have set to 0
    assert request["ExcludeRetainedVariantProperties"] == [{"VariantPropertyType": "DesiredWeight"}]
    targets = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    # the warm variant scales too, ready for the moment traffic shifts back to it
    assert sorted(t["ResourceId"].rsplit("/", 1)[-1] for t in targets)[0] == "AllTraffic"
    assert [t["ResourceId"].split("/")[-1][:8] for t in targets if "warm" in t["ResourceId"]] == ["warm-v1-"]


def test_production_model_monitor_schedule_created_once(
    sm: Any, s3: Any, session: boto3.Session, fake_clock: FakeClock
) -> None:
    moto_sagemaker.create_pipeline(sm, "churn-xgb", "arn:aws:iam::123456789012:role/SageMakerExecution")
    config = make_config(
        model_monitor_enabled=True,
        model_monitor_output_s3_uri="s3://mlops-monitor/reports",
        model_monitor_baseline_statistics_uri="s3://mlops-monitor/baseline/statistics.json",
        model_monitor_baseline_constraints_uri="s3://mlops-monitor/baseline/constraints.json",
        model_monitor_image_uri="156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer",
    )
    platform = SageMakerPlatform(config, session, clock=fake_clock.clock)
    v1, v2 = approved(sm, s3, 2)
    platform.deploy("staging", v1, "U1")
    assert moto_sagemaker.monitoring_schedules() == {}
    platform.deploy("production", v1, "U1")
    fake_clock.advance(1)  # configs are stamped to the second
    platform.deploy("production", v2, "U1")
    schedules = moto_sagemaker.monitoring_schedules()
    assert list(schedules) == ["churn-production-data-quality"]
    job = schedules["churn-production-data-quality"]["MonitoringScheduleConfig"]["MonitoringJobDefinition"]
    assert job["MonitoringInputs"][0]["EndpointInput"]["EndpointName"] == "churn-production"
    assert job["BaselineConfig"]["StatisticsResource"]["S3Uri"].endswith("statistics.json")
    platform.close()


def test_rollback_repoints_to_the_earlier_config_without_a_new_model(
    platform: SageMakerPlatform, sm: Any, s3: Any, fake_clock: FakeClock
) -> None:
    v1, v2, v3 = approved(sm, s3, 3)
    platform.deploy("staging", v1, "U0ALICE")
    v1_config = endpoint_config_of(sm, "staging")
    fake_clock.advance(1)  # configs are stamped to the second
    platform.deploy("staging", v2, "U0ALICE")
    before = names(sm)
    fake_clock.advance(1)  # history is ordered by when each change served
    info = platform.rollback("staging", v1, "U0BOB")
    assert info.version == 1
    assert endpoint_config_of(sm, "staging") == v1_config
    assert names(sm) == before
    rollback_request = moto_sagemaker.update_endpoint_requests()[-1]
    assert rollback_request["EndpointConfigName"] == v1_config
    routing = rollback_request["DeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing["Type"] == "ALL_AT_ONCE"
    with pytest.raises(InvalidRequest, match=r"Version 3 was never deployed to churn-staging"):
        platform.rollback("staging", v3, "U0BOB")
    with pytest.raises(InvalidRequest, match=r"already serves v1"):
        platform.rollback("staging", v1, "U0BOB")
    with pytest.raises(NotFound, match=r"'churn-production' \(production\) does not exist"):
        platform.rollback("production", v1, "U0BOB")
    history = platform.endpoint_history("staging")
    assert [(d.version, d.kind, d.deployed_by) for d in history] == [
        (1, "deploy", "U0ALICE"),
        (2, "deploy", "U0ALICE"),
        (1, "rollback", "U0BOB"),
    ]
    assert [d.deployed_at for d in history] == sorted(d.deployed_at for d in history)


def test_rollback_refuses_a_config_whose_model_was_deleted(
    platform: SageMakerPlatform, sm: Any, s3: Any, fake_clock: FakeClock
) -> None:
    v1, v2 = approved(sm, s3, 2)
    platform.deploy("staging", v1, "U1")
    v1_config = endpoint_config_of(sm, "staging")
    fake_clock.advance(1)  # configs are stamped to the second
    platform.deploy("staging", v2, "U1")
    sm.delete_model(ModelName=v1_config)
    with pytest.raises(InvalidRequest, match=r"was deleted; deploy the version again"):
        platform.rollback("staging", v1, "U1")
    assert platform.describe_endpoint("staging").version == 2


@pytest.mark.parametrize(
    ("code", "message", "error", "expected"),
    [
        (
            "ThrottlingException",
            "Rate exceeded",
            Throttled,
            r"^AWS throttled sagemaker:UpdateEndpoint on endpoint 'churn-staging' after 2 attempts; "
            r"try again in a minute$",
        ),
        (
            "AccessDeniedException",
            "User: arn:aws:sts::123456789012:assumed-role/bot is not authorized to perform: "
            "sagemaker:UpdateEndpoint",
            AccessDenied,
            r"^AWS denied sagemaker:UpdateEndpoint on endpoint 'churn-staging' — the bot's role lacks this "
            r"permission",
        ),
    ],
)
def test_failed_update_leaves_the_endpoint_on_its_validated_config(
    platform: SageMakerPlatform,
    sm: Any,
    s3: Any,
    code: str,
    message: str,
    error: type[PlatformError],
    expected: str,
) -> None:
    v1, v2 = approved(sm, s3, 2)
    platform.deploy("staging", v1, "U1")
    validated = endpoint_config_of(sm, "staging")
    before = names(sm)
    # Throttling is retried by botocore (2 attempts configured), a denial is not.
    inject_error("UpdateEndpoint", code, message, times=3)
    with pytest.raises(error, match=expected) as info:
        platform.deploy("staging", v2, "U1")
    assert "Traceback" not in str(info.value)
    assert moto_sagemaker.injected_failures_left("UpdateEndpoint") == (1 if error is Throttled else 2)
    assert endpoint_config_of(sm, "staging") == validated
    assert names(sm) == before  # the new model and config were deleted again
    assert platform.describe_endpoint("staging").version == 1


def test_failed_config_creation_deletes_the_new_model(platform: SageMakerPlatform, sm: Any, s3: Any) -> None:
    (v1,) = approved(sm, s3)
    inject_error("CreateEndpointConfig", "ResourceLimitExceeded", "account limit of 300")
    with pytest.raises(PlatformError, match=r"AWS quota reached for CreateEndpointConfig"):
        platform.deploy("staging", v1, "U1")
    assert names(sm) == (set(), set())


def test_cleanup_failures_are_logged_and_reported(
    platform: SageMakerPlatform, sm: Any, s3: Any, caplog: pytest.LogCaptureFixture
) -> None:
    v1, v2 = approved(sm, s3, 2)
    platform.deploy("staging", v1, "U1")
    inject_error("UpdateEndpoint", "AccessDeniedException", "no")
    inject_error("DeleteModel", "AccessDeniedException", "no")
    with (
        caplog.at_level(logging.ERROR, logger="ml.sagemaker.rollout"),
        pytest.raises(AccessDenied, match=r"could not clean up: model churn-staging-v2-\d{14}"),
    ):
        platform.deploy("staging", v2, "U1")
    assert "Could not delete model churn-staging-v2-" in caplog.text
    assert "sagemaker:DeleteModel" in caplog.text
    models, configs = names(sm)
    assert len(models) == 2 and len(configs) == 1  # only the undeletable model is left


def test_ambiguous_timeout_keeps_what_may_be_in_flight(platform: SageMakerPlatform, sm: Any, s3: Any) -> None:
    (v1,) = approved(sm, s3)

    def accept_then_time_out(**_: Any) -> None:
        sm.create_endpoint(EndpointName="churn-staging", EndpointConfigName=names(sm)[1].pop())
        raise ReadTimeoutError(endpoint_url="https://api.sagemaker.us-east-1.amazonaws.com")

    platform.sagemaker.meta.events.register_first(
        "before-send.sagemaker.CreateEndpoint", accept_then_time_out
    )
    with pytest.raises(DeploymentFailed, match=r"may still be applied"):
        platform.deploy("staging", v1, "U1")
    models, configs = names(sm)
    assert len(models) == 1 and len(configs) == 1


def test_alarm_rollback_during_update_is_reported_and_cleaned(
    platform: SageMakerPlatform, sm: Any, s3: Any
) -> None:
    v1, v2 = approved(sm, s3, 2)
    platform.deploy("staging", v1, "U1")
    before = names(sm)
    moto_sagemaker.arm_update_rollback("churn-staging", "Alarm churn-production-5xx went into ALARM")
    with pytest.raises(
        RolledBack,
        match=r"SageMaker rolled back v2 on churn-staging \(alarm churn-production-5xx fired\); "
        r"it still serves v1",
    ):
        platform.deploy("staging", v2, "U1")
    assert names(sm) == before
    assert platform.describe_endpoint("staging").version == 1


@pytest.mark.parametrize("config", [make_config(waiter_delay_seconds=30)])
def test_wait_reports_progress_and_times_out_without_cleanup(
    platform: SageMakerPlatform, sm: Any, s3: Any, fake_clock: FakeClock
) -> None:
    v1, v2 = approved(sm, s3, 2)
    platform.deploy("staging", v1, "U1")
    polls = {"count": 2}
    # Once SageMaker accepted the update, the endpoint reports Updating for a few polls.
    platform.sagemaker.meta.events.register(
        "after-call.sagemaker.UpdateEndpoint",
        lambda **_: moto_sagemaker.hold_endpoint_status("churn-staging", "Updating", polls=polls["count"]),
    )
    seen: list[EndpointStatus] = []
    fake_clock.advance(1)  # configs are stamped to the second
    info = platform.deploy("staging", v2, "U1", progress=lambda i: seen.append(i.status))
    assert seen == [EndpointStatus.UPDATING, EndpointStatus.UPDATING]
    assert info.version == 2
    assert fake_clock.sleeps == [30, 30]  # waiter_delay_seconds between polls, on the injected clock

    polls["count"] = 10  # more than the 3 attempts configured
    before = names(sm)
    with pytest.raises(DeploymentFailed, match=r"churn-staging is still Updating rolling back to v1"):
        platform.rollback("staging", v1, "U1")
    assert names(sm) == before
    with pytest.raises(InvalidRequest, match=r"churn-staging is Updating; wait until it is InService"):
        platform.deploy("staging", v1, "U1")
    assert names(sm) == before


def test_missing_endpoint_is_not_found(platform: SageMakerPlatform) -> None:
    with pytest.raises(NotFound, match=r"^Endpoint 'churn-production' \(production\) does not exist yet"):
        platform.describe_endpoint("production")
    with pytest.raises(InvalidRequest, match=r"Unknown environment 'qa'"):
        platform.describe_endpoint("qa")  # type: ignore[arg-type]


def test_snapshot_reports_versions_and_endpoints(platform: SageMakerPlatform, sm: Any, s3: Any) -> None:
    (v1,) = approved(sm, s3)
    register_model_package(sm, s3, GROUP)
    platform.deploy("staging", v1, "U1")
    snapshot = platform.snapshot()
    assert [p.version for p in snapshot.packages] == [2, 1]
    assert snapshot.endpoints["production"] is None
    staging = snapshot.endpoints["staging"]
    assert staging is not None and staging.version == 1


def test_validate_runs_ml_validate_against_the_endpoint(
    platform: SageMakerPlatform, sm: Any, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ml.validate

    calls: dict[str, Any] = {}

    def fake_invoker(
        endpoint_name: str, endpoint_url: str | None = None, region: str | None = None
    ) -> Callable[[bytes, str], tuple[bytes, str]]:
        calls["invoker"] = (endpoint_name, region)
        return lambda body, content_type: (b"0.9\n", "text/csv")

    def fake_validate(invoke: Callable[[bytes, str], tuple[bytes, str]], **kwargs: Any) -> dict[str, Any]:
        calls["validate"] = kwargs
        return {"passed": True, "endpoint": kwargs["endpoint"], "checks": []}

    monkeypatch.setattr(ml.validate, "runtime_invoker", fake_invoker)
    monkeypatch.setattr(ml.validate, "validate_endpoint", fake_validate)
    with pytest.raises(NotFound):
        platform.validate("staging")
    (v1,) = approved(sm, s3)
    platform.deploy("staging", v1, "U1")
    assert platform.validate("staging") == {"passed": True, "endpoint": "churn-staging", "checks": []}
    assert calls["invoker"] == ("churn-staging", REGION)
    assert calls["validate"]["threshold"] == 0.8
    assert calls["validate"]["sample_size"] == platform.config.validation_rows == 200


def test_closed_platform_refuses_calls(platform: SageMakerPlatform) -> None:
    platform.pipeline_parameters()
    platform.close()
    with pytest.raises(PlatformError, match=r"has been closed"):
        platform.list_model_packages()


# -- configuration and errors --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"endpoint_names": {"staging": "a"}}, r"endpoint_names lacks production"),
        ({"endpoint_names": {"staging": "same", "production": "same"}}, r"different endpoints"),
        ({"endpoint_names": {"staging": "bad_name", "production": "p"}}, r"endpoint name 'bad_name'"),
        ({"execution_role_arn": "SageMakerRole"}, r"not an IAM role ARN"),
        ({"rollouts": {"staging": RolloutPolicy()}}, r"rollouts lacks production"),
        ({"warm_rollback_seconds": 5}, r"warm_rollback_seconds must be within 60-86400"),
        ({"autoscaling_min_instances": 5, "autoscaling_max_instances": 2}, r"1 <= min <= max"),
        ({"model_monitor_enabled": True}, r"model_monitor_output_s3_uri is not an s3:// URI"),
        ({"retry_mode": "legacy"}, r"retry_mode must be 'standard' or 'adaptive'"),
        ({"data_capture_s3_uri": "capture/"}, r"data_capture_s3_uri must be an s3:// URI"),
    ],
)
def test_config_validation(overrides: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        make_config(**overrides)


def test_clients_use_the_configured_retries_and_timeouts(platform: SageMakerPlatform) -> None:
    cfg = platform.sagemaker.meta.config
    assert cfg.retries == {"mode": "standard", "total_max_attempts": 2}
    assert (cfg.connect_timeout, cfg.read_timeout) == (5.0, 60.0)
    assert platform.sagemaker.meta.region_name == REGION


def _client_error(
    code: str, message: str, operation: str = "DescribeEndpoint", status: int = 400
) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, operation)


def test_error_translation() -> None:
    target = "endpoint 'churn-staging'"
    not_found = translate_error(_client_error("ValidationException", "Could not find endpoint 'x'."), target)
    assert isinstance(not_found, NotFound)
    assert str(not_found) == "Could not find endpoint 'churn-staging': Could not find endpoint 'x'."
    invalid = translate_error(_client_error("ValidationException", "1 validation error detected"), target)
    assert type(invalid) is InvalidRequest
    assert (
        str(invalid)
        == "AWS refused DescribeEndpoint on endpoint 'churn-staging': 1 validation error detected"
    )
    denied = translate_error(_client_error("AccessDenied", "", "RegisterScalableTarget", 403), target)
    assert str(denied).startswith("AWS denied application-autoscaling:RegisterScalableTarget on")
    server = translate_error(_client_error("InternalFailure", "boom", status=500), target)
    assert isinstance(server, AwsUnavailable)
    timeout = translate_error(ReadTimeoutError(endpoint_url="https://api.sagemaker"), target)
    assert isinstance(timeout, AwsUnavailable)
    assert "did not answer in time" in str(timeout)


def test_config_names_round_trip() -> None:
    from datetime import UTC, datetime

    name = config_name("churn-production", 12, datetime(2026, 11, 26, 4, 5, 6, tzinfo=UTC))
    assert name == "churn-production-v12-20261126040506"
    assert parse_config_name("churn-production", name) == (12, datetime(2026, 11, 26, 4, 5, 6, tzinfo=UTC))
    assert parse_config_name("churn", name) is None
    longest = config_name("e" * 40, 999999, datetime(2026, 11, 26, tzinfo=UTC))
    assert len(longest) <= 63


def test_config_defaults_are_valid() -> None:
    config = SageMakerConfig(
        region="eu-west-1",
        pipeline_name="p",
        model_package_group="g",
        execution_role_arn="arn:aws:iam::123456789012:role/r",
        endpoint_names={"staging": "s", "production": "p"},
    )
    assert config.instance_counts["production"] == 2
    assert (config.autoscaling_min_instances, config.autoscaling_max_instances) == (2, 10)


def test_status_snapshot_fans_out_with_bounded_concurrency(sm: Any, s3: Any, session: boto3.Session) -> None:
    moto_sagemaker.create_pipeline(sm, "churn-xgb", "arn:aws:iam::123456789012:role/SageMakerExecution")
    platform = SageMakerPlatform(make_config(max_concurrency=4), session)
    for _ in range(30):
        register_model_package(sm, s3, GROUP, approval_status="Approved")
    platform.deploy("staging", 30, "U1")
    platform.registry.package_cache.clear()  # as after a restart
    platform.registry.metrics_cache.clear()
    changed = threading.Condition()
    in_flight = {"now": 0, "peak": 0, "describes": 0, "met": 0}
    calls: list[str] = []
    unmet: list[int] = []

    def started(event_name: str, **_: Any) -> None:
        operation = event_name.rsplit(".", maxsplit=1)[-1]
        with changed:
            calls.append(operation)
            in_flight["now"] += 1
            in_flight["peak"] = max(in_flight["peak"], in_flight["now"])
            if operation != "DescribeModelPackage":
                return
            # The first describes wait until three are in flight together: they can meet only if the
            # listing really fans out (no timing involved; a sequential listing gives up after 30 s).
            in_flight["describes"] += 1
            if in_flight["describes"] >= 3:
                in_flight["met"] = 1
                changed.notify_all()
            if not unmet and not changed.wait_for(lambda: in_flight["met"] == 1, timeout=30):
                unmet.append(in_flight["describes"])

    def finished(event_name: str, **_: Any) -> None:
        with changed:
            in_flight["now"] -= 1
            if event_name.endswith("DescribeModelPackage"):
                in_flight["describes"] -= 1

    for service in ("sagemaker", "s3"):
        platform._client(service).meta.events.register("before-call", started)
        platform._client(service).meta.events.register("after-call", finished)
    cold = platform.snapshot()
    assert [p.version for p in cold.packages] == list(range(30, 0, -1))
    assert calls.count("DescribeModelPackage") == 30 and calls.count("GetObject") == 30
    # concurrent (timings belong to bench/status_fanout.py), but never beyond 4 workers + the caller
    assert unmet == [], "the package describes never ran three at a time"
    assert 2 < in_flight["peak"] <= 4 + 1

    calls.clear()
    warm = platform.snapshot()
    assert warm == cold
    # Unchanged versions are reused: only the listing and the endpoint describes remain.
    assert sorted(calls) == ["DescribeEndpoint", "DescribeEndpoint", "ListModelPackages"]
    platform.close()


def test_failed_first_deploy_removes_the_failed_endpoint(
    platform: SageMakerPlatform, sm: Any, s3: Any
) -> None:
    (v1,) = approved(sm, s3)
    platform.sagemaker.meta.events.register(
        "after-call.sagemaker.CreateEndpoint",
        lambda **_: moto_sagemaker.hold_endpoint_status("churn-staging", "Failed", polls=1),
    )
    with pytest.raises(
        DeploymentFailed, match=r"Deploying v1 to churn-staging failed: churn-staging became Failed"
    ):
        platform.deploy("staging", v1, "U1")
    assert sm.list_endpoints()["Endpoints"] == []
    assert names(sm) == (set(), set())


def test_the_sagemaker_sdk_is_never_imported() -> None:
    code = (
        "import sys, ml.sagemaker, ml.sagemaker.platform; "
        "print(sorted(m for m in sys.modules if m == 'sagemaker' or m.startswith('sagemaker.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_executions_listed_without_parameters_cost_no_call_per_run(platform: SageMakerPlatform) -> None:
    platform.start_pipeline({"num_round": "250"}, "U1")
    platform.start_pipeline({}, "U2")
    per_run = count_calls(
        platform.sagemaker, "provide-client-params.sagemaker.ListPipelineParametersForExecution"
    )
    bare = platform.list_executions(parameters=False)
    assert {e.requested_by for e in bare} == {"U1", "U2"} and all(e.parameters == {} for e in bare)
    assert per_run == []
    full = {e.requested_by: e.parameters for e in platform.list_executions()}
    assert "250" in full["U1"].values() and len(per_run) == 2


def test_parts_are_built_once_on_first_use_by_concurrent_callers(
    config: SageMakerConfig, session: boto3.Session
) -> None:
    plat = SageMakerPlatform(config, session)
    start = threading.Barrier(8)
    seen: list[object] = []

    def first_use() -> None:
        start.wait()
        seen.append(plat.rollout)

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 8 and all(part is seen[0] for part in seen)
    # The rollout works with the platform's own registry and endpoints, not copies of its own.
    assert plat.rollout._registry is plat.registry and plat.rollout._endpoints is plat.endpoints
    assert plat.progress is plat.progress and plat.pipelines is plat.pipelines
    plat.close()
