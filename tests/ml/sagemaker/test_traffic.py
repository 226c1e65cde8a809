"""The rollout policy as UpdateEndpoint's DeploymentConfig, sent through botocore (which checks it
against SageMaker's service model) to moto; and the variant names that carry a warm standby."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.validate import validate_parameters

from ml.rollout_policy import RolloutPolicy, parse_rollout
from ml.sagemaker import SageMakerPlatform
from ml.sagemaker.traffic import deployment_config, parse_warm_variant, policy_of, warm_variant_name
from tests.ml.sagemaker import moto_sagemaker
from tests.ml.sagemaker.conftest import ALARMS, GROUP, FakeClock
from tests.ml.sagemaker.moto_sagemaker import register_model_package

GUARDS = {"Alarms": [{"AlarmName": ALARMS[0]}, {"AlarmName": ALARMS[1]}]}

CASES = [
    (
        "all-at-once bake 0s",
        {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0},
        0,
        3600,
    ),
    (
        "canary 5% 10m bake 10m",
        {
            "Type": "CANARY",
            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 5},
            "WaitIntervalInSeconds": 600,
        },
        600,
        3600,
    ),
    (
        "linear 20% 2m bake 5m",
        {
            "Type": "LINEAR",
            "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 20},
            "WaitIntervalInSeconds": 120,
        },
        300,
        7200,
    ),
]


@pytest.mark.parametrize(("typed", "routing", "bake", "timeout"), CASES)
def test_each_policy_is_sent_as_its_exact_deployment_config(
    platform: SageMakerPlatform,
    sm: Any,
    s3: Any,
    fake_clock: FakeClock,
    typed: str,
    routing: dict[str, Any],
    bake: int,
    timeout: int,
) -> None:
    v1, v2 = (register_model_package(sm, s3, GROUP, approval_status="Approved").version for _ in range(2))
    platform.deploy("staging", v1, "U1")
    fake_clock.advance(1)  # configs are stamped to the second
    policy = parse_rollout(typed, timeout_seconds=timeout)

    platform.deploy("staging", v2, "U1", rollout=policy)

    (request,) = moto_sagemaker.update_endpoint_requests()
    assert request["DeploymentConfig"] == {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": routing,
            "TerminationWaitInSeconds": bake,
            "MaximumExecutionTimeoutInSeconds": timeout,
        },
        "AutoRollbackConfiguration": GUARDS,
    }
    # botocore validated the request on its way out; check the recorded one against the model again
    shape = sm.meta.service_model.operation_model("UpdateEndpoint").input_shape
    validate_parameters(request, shape)
    assert policy_of(request["DeploymentConfig"]) == policy


def test_a_deploy_without_a_policy_follows_the_environments(
    platform: SageMakerPlatform, sm: Any, s3: Any, fake_clock: FakeClock
) -> None:
    v1, v2 = (register_model_package(sm, s3, GROUP, approval_status="Approved").version for _ in range(2))
    platform.deploy("staging", v1, "U1")
    fake_clock.advance(1)
    platform.deploy("staging", v2, "U1")
    (request,) = moto_sagemaker.update_endpoint_requests()
    assert policy_of(request["DeploymentConfig"]) == platform.config.rollout("staging")
    assert request["DeploymentConfig"] == platform.deployment_config("staging")


def test_no_alarms_means_no_auto_rollback_configuration() -> None:
    config = deployment_config(RolloutPolicy("canary", 10, 300), ())
    assert "AutoRollbackConfiguration" not in config
    assert config["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"] == "CANARY"


def test_warm_variant_names_carry_version_and_retention_end() -> None:
    until = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)
    name = warm_variant_name(3, until)
    assert name == "warm-v3-20261201103000"
    assert parse_warm_variant(name) == (3, until)
    assert parse_warm_variant("AllTraffic") is None
