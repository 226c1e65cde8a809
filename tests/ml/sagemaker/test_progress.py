"""A running blue/green update read back from DescribeEndpoint, CloudWatch metrics and the rollback
alarms; stopping it through SetAlarmState; finishing it refused."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from ml.platform import InvalidRequest
from ml.sagemaker import SageMakerPlatform
from ml.sagemaker.naming import config_name
from ml.sagemaker.traffic import deployment_config
from tests.ml.sagemaker import moto_sagemaker
from tests.ml.sagemaker.conftest import (
    ALARMS,
    CANARY,
    ENDPOINTS,
    GROUP,
    PIPELINE,
    ROLE_ARN,
    FakeClock,
    make_config,
)
from tests.ml.sagemaker.moto_sagemaker import register_model_package

PRODUCTION = ENDPOINTS["production"]


@pytest.fixture
def cloudwatch(session: boto3.Session) -> Any:
    client = session.client("cloudwatch")
    for name in ALARMS:
        client.put_metric_alarm(
            AlarmName=name,
            Namespace="AWS/SageMaker",
            MetricName="Invocation5XXErrors",
            Dimensions=[
                {"Name": "EndpointName", "Value": PRODUCTION},
                {"Name": "VariantName", "Value": "AllTraffic"},
            ],
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=5.0,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
    return client


def start_update(platform: SageMakerPlatform, sm: Any, s3: Any, fake_clock: FakeClock) -> tuple[str, str]:
    """v1 serves production; a canary update towards v2 began 200 s ago, traffic 100 s ago."""
    v1, v2 = (register_model_package(sm, s3, GROUP, approval_status="Approved").version for _ in range(2))
    platform.deploy("production", v1, "U1")
    old = sm.describe_endpoint(EndpointName=PRODUCTION)["EndpointConfigName"]
    now = fake_clock.clock.now()
    new = config_name(PRODUCTION, v2, now)
    sm.create_endpoint_config(
        EndpointConfigName=new,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": old,  # any existing model: nothing runs it
                "InstanceType": "ml.m5.xlarge",
                "InitialInstanceCount": 2,
                "InitialVariantWeight": 1.0,
            }
        ],
    )
    moto_sagemaker.seed_pending_update(
        PRODUCTION,
        new,
        [("Creating", now - timedelta(seconds=200)), ("ActivatingTraffic", now - timedelta(seconds=100))],
        deployment_config=deployment_config(CANARY, ALARMS),
        started_at=now - timedelta(seconds=200),
    )
    return old, new


def put_metrics(
    cloudwatch: Any, config: str, fake_clock: FakeClock, *, calls: int, errors: int, latency_us: list[float]
) -> None:
    dimensions = [
        {"Name": "EndpointName", "Value": PRODUCTION},
        {"Name": "VariantName", "Value": "AllTraffic"},
        {"Name": "EndpointConfigName", "Value": config},
    ]
    at = fake_clock.clock.now() - timedelta(seconds=30)
    data = [
        {"MetricName": "Invocations", "Dimensions": dimensions, "Timestamp": at, "Value": calls},
        {"MetricName": "Invocation5XXErrors", "Dimensions": dimensions, "Timestamp": at, "Value": errors},
        *(
            {"MetricName": "ModelLatency", "Dimensions": dimensions, "Timestamp": at, "Value": value}
            for value in latency_us
        ),
    ]
    cloudwatch.put_metric_data(Namespace="AWS/SageMaker", MetricData=data)


def close(moment: datetime | None, expected: datetime) -> bool:
    return moment is not None and abs(moment - expected) < timedelta(seconds=1)


def test_no_update_running_means_no_progress(platform: SageMakerPlatform, sm: Any, s3: Any) -> None:
    assert platform.rollout_progress("production") is None
    v1 = register_model_package(sm, s3, GROUP, approval_status="Approved").version
    platform.deploy("production", v1, "U1")
    assert platform.rollout_progress("production") is None


def test_progress_reads_phase_traffic_metrics_and_alarms(
    platform: SageMakerPlatform, sm: Any, s3: Any, cloudwatch: Any, fake_clock: FakeClock
) -> None:
    old, new = start_update(platform, sm, s3, fake_clock)
    put_metrics(cloudwatch, new, fake_clock, calls=40, errors=3, latency_us=[20_000.0] * 98 + [450_000.0] * 2)
    put_metrics(cloudwatch, old, fake_clock, calls=360, errors=0, latency_us=[15_000.0] * 10)
    cloudwatch.set_alarm_state(AlarmName=ALARMS[1], StateValue="OK", StateReason="p99 120 ms < 500 ms")
    cloudwatch.set_alarm_state(
        AlarmName=ALARMS[0], StateValue="ALARM", StateReason="Threshold Crossed: 6 errors >= 5"
    )
    now = fake_clock.clock.now()

    progress = platform.rollout_progress("production")

    assert progress is not None
    assert (progress.from_version, progress.to_version) == (1, 2)
    assert (progress.phase, progress.traffic_percent) == ("shifting", 20)
    assert progress.policy == CANARY and progress.can_finish is False
    traffic_began = now - timedelta(seconds=100)
    # SageMaker's times arrive to the millisecond
    assert close(progress.started_at, now - timedelta(seconds=200))
    assert close(progress.stage_ends_at, traffic_began + timedelta(seconds=600))
    assert close(progress.ends_at, traffic_began + timedelta(seconds=900))
    new_fleet, old_fleet = progress.variants
    assert (new_fleet.role, new_fleet.weight_percent, new_fleet.invocations, new_fleet.errors) == (
        "new",
        20.0,
        40,
        3,
    )
    assert new_fleet.p99_ms == 450.0
    assert (old_fleet.role, old_fleet.version, old_fleet.invocations, old_fleet.p99_ms) == (
        "old",
        1,
        360,
        15.0,
    )
    states = {a.name: (a.state, a.reason) for a in progress.alarms}
    assert states[ALARMS[1]] == ("OK", "p99 120 ms < 500 ms")
    assert states[ALARMS[0]] == ("ALARM", "Threshold Crossed: 6 errors >= 5")


def test_after_the_canary_wait_the_new_fleet_bakes_with_all_traffic(
    platform: SageMakerPlatform, sm: Any, s3: Any, fake_clock: FakeClock
) -> None:
    start_update(platform, sm, s3, fake_clock)
    fake_clock.advance(600)
    progress = platform.rollout_progress("production")
    assert progress is not None
    assert (progress.phase, progress.traffic_percent) == ("baking", 100)
    assert progress.stage_ends_at == progress.ends_at


def test_a_fleet_still_starting_is_provisioning(
    platform: SageMakerPlatform, sm: Any, s3: Any, fake_clock: FakeClock
) -> None:
    v1 = register_model_package(sm, s3, GROUP, approval_status="Approved").version
    platform.deploy("production", v1, "U1")
    config = sm.describe_endpoint(EndpointName=PRODUCTION)["EndpointConfigName"]
    moto_sagemaker.seed_pending_update(
        PRODUCTION,
        config,
        [("Creating", fake_clock.clock.now())],
        deployment_config=deployment_config(CANARY, ALARMS),
        started_at=fake_clock.clock.now(),
    )
    progress = platform.rollout_progress("production")
    assert progress is not None
    assert (progress.phase, progress.traffic_percent, progress.ends_at) == ("provisioning", 0, None)


def test_stop_puts_the_first_rollback_alarm_in_alarm(
    platform: SageMakerPlatform, sm: Any, s3: Any, cloudwatch: Any, fake_clock: FakeClock
) -> None:
    start_update(platform, sm, s3, fake_clock)
    said = platform.stop_rollout("production", "@carol")
    assert said.startswith(f"Alarm {ALARMS[0]} set to ALARM: SageMaker rolls v2 back on {PRODUCTION}")
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=[ALARMS[0]])["MetricAlarms"]
    assert (alarm["StateValue"], alarm["StateReason"]) == ("ALARM", "Rollout stopped by @carol")
    (other,) = cloudwatch.describe_alarms(AlarmNames=[ALARMS[1]])["MetricAlarms"]
    assert other["StateValue"] != "ALARM"


def test_stop_refuses_without_an_update_or_an_alarm(
    sm: Any, s3: Any, session: boto3.Session, cloudwatch: Any, fake_clock: FakeClock
) -> None:
    moto_sagemaker.create_pipeline(sm, PIPELINE, ROLE_ARN)
    guarded = SageMakerPlatform(make_config(), session, clock=fake_clock.clock)
    with pytest.raises(InvalidRequest, match="no rollout is running on production"):
        guarded.stop_rollout("production", "@carol")
    unguarded = SageMakerPlatform(make_config(rollback_alarm_names=()), session, clock=fake_clock.clock)
    start_update(unguarded, sm, s3, fake_clock)
    with pytest.raises(InvalidRequest, match="MLOPS_ROLLBACK_ALARMS"):
        unguarded.stop_rollout("production", "@carol")
    states = {a["StateValue"] for a in cloudwatch.describe_alarms(AlarmNames=list(ALARMS))["MetricAlarms"]}
    assert "ALARM" not in states
    guarded.close()
    unguarded.close()


def test_finish_is_refused_with_when_the_update_ends(
    platform: SageMakerPlatform, sm: Any, s3: Any, fake_clock: FakeClock
) -> None:
    start_update(platform, sm, s3, fake_clock)
    ends = fake_clock.clock.now() - timedelta(seconds=100) + timedelta(seconds=900)
    with pytest.raises(
        InvalidRequest, match=f"cannot cut a blue/green update short.*ends by {ends:%H:%M} UTC"
    ):
        platform.finish_rollout("production", "@carol")
    moto_sagemaker.end_pending_update(PRODUCTION)
    with pytest.raises(InvalidRequest, match="no rollout is running"):
        platform.finish_rollout("production", "@carol")
