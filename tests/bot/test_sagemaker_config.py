"""The rollout settings as the SageMaker platform's configuration."""

from __future__ import annotations

from bot.sagemaker_config import sagemaker_config
from bot.settings import load_settings
from ml.rollout_policy import RolloutPolicy

ROLE_ARN = "arn:aws:iam::123456789012:role/SageMakerExecution"


def test_rollout_policies_alarms_and_warm_window_reach_the_platform() -> None:
    settings = load_settings(
        mlops_backend="sagemaker",
        sagemaker_role_arn=ROLE_ARN,
        mlops_production_rollout="linear 20% 2m",
        mlops_rollout_bake="10m",
        mlops_rollback_alarms="prod-5xx,prod-p99",
        mlops_warm_rollback="2h",
    )
    config = sagemaker_config(settings)
    assert config.rollout("production") == RolloutPolicy("linear", 20, 120, 600, 3600)
    assert config.rollout("staging") == RolloutPolicy("all-at-once", 100, 0, 600, 3600)
    assert config.rollback_alarm_names == ("prod-5xx", "prod-p99")
    assert config.warm_rollback_seconds == 7200


def test_defaults_are_a_canary_on_production_and_a_30_minute_warm_standby() -> None:
    config = sagemaker_config(load_settings(mlops_backend="sagemaker", sagemaker_role_arn=ROLE_ARN))
    assert config.rollout("production") == RolloutPolicy("canary", 10, 300, 300, 3600)
    assert config.warm_rollback_seconds == 1800
    off = load_settings(mlops_backend="sagemaker", sagemaker_role_arn=ROLE_ARN, mlops_warm_rollback="off")
    assert sagemaker_config(off).warm_rollback_seconds is None
