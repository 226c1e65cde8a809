"""Warm standby on SageMaker: the two-variant promote, the instant rollback (a weight shift in at most
three AWS calls), what the rollback confirmation and the card are told, and retiring after the window."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest

from ml.platform import InvalidRequest
from ml.sagemaker import SageMakerPlatform
from ml.sagemaker.traffic import parse_warm_variant
from tests.ml.sagemaker import moto_sagemaker
from tests.ml.sagemaker.conftest import ENDPOINTS, GROUP, PIPELINE, ROLE_ARN, FakeClock, make_config
from tests.ml.sagemaker.moto_sagemaker import register_model_package

PRODUCTION = ENDPOINTS["production"]
#: canary 20% 10m, bake 5m (the tests' policy) then 30m warm
SHIFT_AND_WINDOW = timedelta(seconds=600 + 300 + 1800)


def approved(sm: Any, s3: Any, n: int) -> list[int]:
    return [register_model_package(sm, s3, GROUP, approval_status="Approved").version for _ in range(n)]


def serving_config(sm: Any) -> dict[str, Any]:
    name = sm.describe_endpoint(EndpointName=PRODUCTION)["EndpointConfigName"]
    return dict(sm.describe_endpoint_config(EndpointConfigName=name))


def calls_to_aws(platform: SageMakerPlatform) -> list[str]:
    """Every AWS operation the platform's clients send from now on, by name."""
    seen: list[str] = []
    for service in ("sagemaker", "cloudwatch", "application-autoscaling", "sts"):
        events = platform.aws.client(service).meta.events
        events.register("before-call", lambda model, **_: seen.append(model.name))
    return seen


@pytest.fixture
def promoted(
    platform: SageMakerPlatform, sm: Any, s3: Any, fake_clock: FakeClock
) -> Iterator[tuple[int, int]]:
    """v1 served production, then v2 was promoted over it."""
    v1, v2 = approved(sm, s3, 2)
    platform.deploy("production", v1, "U0ALICE")
    fake_clock.advance(1)  # configs are stamped to the second
    platform.deploy("production", v2, "U0BOB")
    yield v1, v2


def test_a_promote_keeps_the_replaced_model_warm_at_weight_zero(
    platform: SageMakerPlatform, sm: Any, fake_clock: FakeClock, promoted: tuple[int, int]
) -> None:
    v1, v2 = promoted
    config = serving_config(sm)
    serving, warm = config["ProductionVariants"]
    assert serving["VariantName"] == "AllTraffic" and serving["InitialVariantWeight"] == 1.0
    assert serving["ModelName"].startswith(f"{PRODUCTION}-v{v2}-")
    assert warm["InitialVariantWeight"] == 0.0 and warm["InitialInstanceCount"] == 2
    assert warm["ModelName"].startswith(f"{PRODUCTION}-v{v1}-")  # the model v1 served from
    version, until = parse_warm_variant(warm["VariantName"]) or (0, None)
    assert version == v1
    assert until is not None and abs(until - (fake_clock.clock.now() + SHIFT_AND_WINDOW)) < timedelta(
        seconds=2
    )
    tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=config["EndpointConfigArn"])["Tags"]}
    assert tags["mlops:warm-until"] == until.isoformat()
    assert platform.describe_endpoint("production").version == v2


def test_staging_and_a_first_deploy_keep_nothing_warm(
    platform: SageMakerPlatform, sm: Any, s3: Any, fake_clock: FakeClock
) -> None:
    v1, v2 = approved(sm, s3, 2)
    platform.deploy("production", v1, "U1")
    assert len(serving_config(sm)["ProductionVariants"]) == 1
    platform.deploy("staging", v1, "U1")
    fake_clock.advance(1)
    platform.deploy("staging", v2, "U1")
    name = sm.describe_endpoint(EndpointName=ENDPOINTS["staging"])["EndpointConfigName"]
    assert len(sm.describe_endpoint_config(EndpointConfigName=name)["ProductionVariants"]) == 1
    assert platform.warm_standby("staging") is None


def test_warm_rollback_off_keeps_one_variant(
    sm: Any, s3: Any, session: boto3.Session, fake_clock: FakeClock
) -> None:
    moto_sagemaker.create_pipeline(sm, PIPELINE, ROLE_ARN)
    platform = SageMakerPlatform(make_config(warm_rollback_seconds=None), session, clock=fake_clock.clock)
    v1, v2 = approved(sm, s3, 2)
    platform.deploy("production", v1, "U1")
    fake_clock.advance(1)
    platform.deploy("production", v2, "U1")
    assert [v["VariantName"] for v in serving_config(sm)["ProductionVariants"]] == ["AllTraffic"]
    assert platform.rollback_path("production", v1).warm is False
    platform.close()


def test_instant_rollback_is_one_weight_shift_in_at_most_three_calls(
    platform: SageMakerPlatform, sm: Any, promoted: tuple[int, int]
) -> None:
    v1, _ = promoted
    path = platform.rollback_path("production", v1)
    assert path.warm is True and path.detail.startswith(f"shifts all traffic to the warm v{v1} at once")
    configs_before = sm.list_endpoint_configs()["EndpointConfigs"]
    seen = calls_to_aws(platform)

    info = platform.rollback("production", v1, "U0CAROL")

    assert seen == ["DescribeEndpoint", "UpdateEndpointWeightsAndCapacities", "DescribeEndpoint"]
    assert info.version == v1
    (shift,) = moto_sagemaker.weight_update_requests()
    weights = {w["VariantName"]: w["DesiredWeight"] for w in shift["DesiredWeightsAndCapacities"]}
    assert weights["AllTraffic"] == 0.0
    assert [w for name, w in weights.items() if name.startswith(f"warm-v{v1}-")] == [1.0]
    assert len(moto_sagemaker.update_endpoint_requests()) == 1  # the promote's only: no redeploy
    assert sm.list_endpoint_configs()["EndpointConfigs"] == configs_before
    assert platform.describe_endpoint("production").version == v1


def test_after_the_window_a_rollback_redeploys_blue_green(
    platform: SageMakerPlatform, sm: Any, fake_clock: FakeClock, promoted: tuple[int, int]
) -> None:
    v1, _ = promoted
    fake_clock.advance(SHIFT_AND_WINDOW.total_seconds() + 60)
    path = platform.rollback_path("production", v1)
    assert path.warm is False and "blue/green" in path.detail
    platform.rollback("production", v1, "U0CAROL")
    assert moto_sagemaker.weight_update_requests() == []
    assert len(moto_sagemaker.update_endpoint_requests()) == 2
    assert platform.describe_endpoint("production").version == v1


def test_only_the_warm_version_shifts(
    platform: SageMakerPlatform, sm: Any, s3: Any, promoted: tuple[int, int]
) -> None:
    (v3,) = approved(sm, s3, 1)
    assert platform.rollback_path("production", v3).warm is False
    with pytest.raises(InvalidRequest, match=f"Version {v3} was never deployed"):
        platform.rollback("production", v3, "U1")
    assert moto_sagemaker.weight_update_requests() == []


def test_the_standby_and_its_cost_are_reported(
    platform: SageMakerPlatform, promoted: tuple[int, int]
) -> None:
    v1, _ = promoted
    standby = platform.warm_standby("production")
    assert standby is not None
    assert (standby.environment, standby.version) == ("production", v1)
    assert standby.cost == "2 × ml.m5.xlarge for 30m (1 instance-hour)"


def test_retire_waits_for_the_window_then_keeps_the_serving_version_alone(
    platform: SageMakerPlatform,
    sm: Any,
    session: boto3.Session,
    fake_clock: FakeClock,
    promoted: tuple[int, int],
) -> None:
    _, v2 = promoted
    assert platform.retire_warm("production") is False
    assert len(moto_sagemaker.update_endpoint_requests()) == 1

    fake_clock.advance(SHIFT_AND_WINDOW.total_seconds() + 1)
    assert platform.retire_warm("production") is True

    (variant,) = serving_config(sm)["ProductionVariants"]
    assert variant["VariantName"] == "AllTraffic"
    assert variant["ModelName"].startswith(f"{PRODUCTION}-v{v2}-")  # the model already serving
    retire = moto_sagemaker.update_endpoint_requests()[-1]
    assert retire["DeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"] == (
        "ALL_AT_ONCE"
    )
    assert platform.warm_standby("production") is None
    assert platform.describe_endpoint("production").version == v2
    targets = session.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="sagemaker"
    )
    assert [t["ResourceId"] for t in targets["ScalableTargets"]] == [
        f"endpoint/{PRODUCTION}/variant/AllTraffic"
    ]
    assert platform.retire_warm("production") is False  # nothing left to retire


def test_retire_after_an_instant_rollback_keeps_the_rolled_back_version(
    platform: SageMakerPlatform, sm: Any, fake_clock: FakeClock, promoted: tuple[int, int]
) -> None:
    v1, _ = promoted
    platform.rollback("production", v1, "U0CAROL")
    fake_clock.advance(SHIFT_AND_WINDOW.total_seconds() + 1)
    assert platform.retire_warm("production") is True
    (variant,) = serving_config(sm)["ProductionVariants"]
    assert variant["ModelName"].startswith(f"{PRODUCTION}-v{v1}-")
    assert platform.describe_endpoint("production").version == v1
