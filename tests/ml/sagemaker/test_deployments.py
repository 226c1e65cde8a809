"""SageMaker's silent auto-rollback: the config in service is compared with the one requested."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from ml.platform import RolledBack
from ml.sagemaker import SageMakerPlatform
from ml.sagemaker.deployments import guarding_alarms
from tests.ml.sagemaker import moto_sagemaker
from tests.ml.sagemaker.conftest import ALARMS, ENDPOINTS, GROUP, REGION
from tests.ml.sagemaker.moto_sagemaker import register_model_package

FIVE_XX, LATENCY = ALARMS


class Stopped(BaseException):
    """The process stopped."""


def approved(sm: Any, s3: Any, n: int) -> list[int]:
    return [register_model_package(sm, s3, GROUP, approval_status="Approved").version for _ in range(n)]


@pytest.fixture
def cloudwatch(session: boto3.Session) -> Any:
    client = session.client("cloudwatch", region_name=REGION)
    for name in ALARMS:
        client.put_metric_alarm(
            AlarmName=name,
            Namespace="AWS/SageMaker",
            MetricName="Invocation5XXErrors" if name == FIVE_XX else "ModelLatency",
            Dimensions=[{"Name": "EndpointName", "Value": ENDPOINTS["staging"]}],
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
    return client


def test_rollback_names_the_alarm_in_alarm_from_cloudwatch(
    platform: SageMakerPlatform, sm: Any, s3: Any, cloudwatch: Any
) -> None:
    v1, v2 = approved(sm, s3, 2)
    platform.deploy("staging", v1, "U1")
    old_config = sm.describe_endpoint(EndpointName=ENDPOINTS["staging"])["EndpointConfigName"]
    moto_sagemaker.arm_update_rollback(ENDPOINTS["staging"], "Deployment rolled back", alarm=LATENCY)

    with pytest.raises(RolledBack) as caught:
        platform.deploy("staging", v2, "U1")

    undone = caught.value
    assert undone.alarms == (LATENCY,)  # the reason names none: CloudWatch does
    assert (undone.requested_version, undone.serving_version) == (v2, v1)
    assert undone.serving_config == old_config and undone.rolled_back_by == "SageMaker"
    assert undone.reason == "Deployment rolled back"
    assert str(undone) == (
        f"SageMaker rolled back v2 on {ENDPOINTS['staging']} (alarm {LATENCY} fired: Threshold Crossed "
        f"during the update of {ENDPOINTS['staging']}); it still serves v1"
    )  # the alarm's StateReason carries the values that tripped it
    assert platform.describe_endpoint("staging").version == v1


def test_an_alarm_that_fired_and_cleared_during_the_update_is_named_from_its_history(
    platform: SageMakerPlatform, sm: Any, s3: Any, cloudwatch: Any
) -> None:
    v1, v2 = approved(sm, s3, 2)
    platform.deploy("staging", v1, "U1")
    moto_sagemaker.arm_update_rollback(ENDPOINTS["staging"], "Deployment rolled back", alarm=FIVE_XX)
    # By the time the endpoint is InService again the alarm is back to OK, as after a real rollback.
    platform.sagemaker.meta.events.register(
        "after-call.sagemaker.UpdateEndpoint",
        lambda **_: cloudwatch.set_alarm_state(AlarmName=FIVE_XX, StateValue="OK", StateReason="recovered"),
    )
    with pytest.raises(RolledBack) as caught:
        platform.deploy("staging", v2, "U1")
    assert caught.value.alarms == (FIVE_XX,)
    history = cloudwatch.describe_alarm_history(AlarmName=FIVE_XX, HistoryItemType="StateUpdate")
    assert [i["HistorySummary"] for i in history["AlarmHistoryItems"]] == [
        "Alarm updated from ALARM to OK",
        "Alarm updated from OK to ALARM",
    ]


def test_unreadable_alarms_still_report_the_rollback_with_the_failure_reason(
    platform: SageMakerPlatform, sm: Any, s3: Any
) -> None:
    v1, v2 = approved(sm, s3, 2)
    platform.deploy("staging", v1, "U1")

    def denied(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "not allowed"}, "ResponseMetadata": {}},
            "DescribeAlarms",
        )

    platform._client("cloudwatch").meta.events.register("before-call.cloudwatch.DescribeAlarms", denied)
    moto_sagemaker.arm_update_rollback(ENDPOINTS["staging"], f"Alarm {FIVE_XX} went into ALARM")
    with pytest.raises(RolledBack) as caught:
        platform.deploy("staging", v2, "U1")
    assert caught.value.alarms == (FIVE_XX,)  # from the FailureReason, the one source left


def test_a_rollback_to_an_earlier_version_can_be_undone_too(
    platform: SageMakerPlatform, sm: Any, s3: Any, cloudwatch: Any
) -> None:
    v1, v2 = approved(sm, s3, 2)
    platform.deploy("staging", v1, "U1")
    platform.deploy("staging", v2, "U1")
    moto_sagemaker.arm_update_rollback(ENDPOINTS["staging"], "Deployment rolled back", alarm=FIVE_XX)
    with pytest.raises(RolledBack) as caught:
        platform.rollback("staging", v1, "U1")
    assert (caught.value.requested_version, caught.value.serving_version) == (v1, v2)
    assert caught.value.alarms == (FIVE_XX,)
    assert platform.describe_endpoint("staging").version == v2


def test_rolled_back_update_answers_only_for_an_update_that_was_undone(
    platform: SageMakerPlatform, sm: Any, s3: Any, cloudwatch: Any
) -> None:
    v1, v2, v3 = approved(sm, s3, 3)
    platform.deploy("staging", v1, "U1")
    assert platform.rolled_back_update("staging", v2) is None  # never attempted
    platform.deploy("staging", v2, "U1")
    assert platform.rolled_back_update("staging", v2) is None  # it took
    assert platform.rolled_back_update("production", v2) is None  # no endpoint there

    # The process waiting on the update stops before it sees the result (and so cleans nothing up).
    real_wait = platform._wait_in_service

    def stop_after_waiting(*args: Any, **kwargs: Any) -> Any:
        real_wait(*args, **kwargs)
        raise Stopped

    platform._wait_in_service = stop_after_waiting  # type: ignore[method-assign]
    moto_sagemaker.arm_update_rollback(ENDPOINTS["staging"], "Deployment rolled back", alarm=FIVE_XX)
    with pytest.raises(Stopped):
        platform.deploy("staging", v3, "U1")
    platform._wait_in_service = real_wait  # type: ignore[method-assign]
    found = platform.rolled_back_update("staging", v3)
    assert found is not None and found.alarms == (FIVE_XX,) and found.serving_version == v2


def test_guarding_alarms_are_those_sagemaker_recorded_for_the_update() -> None:
    recorded = {"LastDeploymentConfig": {"AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "a"}]}}}
    assert guarding_alarms(recorded, ["configured"]) == ("a",)
    assert guarding_alarms({}, ["configured", "configured"]) == ("configured",)
    assert guarding_alarms({"LastDeploymentConfig": "garbage"}, []) == ()
