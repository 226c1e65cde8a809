"""Rollout settings: a policy per environment, guardrail alarms and the warm-rollback window."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from bot.settings import Settings


def test_defaults_differ_by_backend_and_are_valid_policies() -> None:
    aws = Settings(mlops_backend="sagemaker")
    assert aws.rollout_policy("production").describe() == "canary 10% 5m bake 5m"
    assert aws.rollout_policy("staging").kind == "all-at-once"
    local = Settings(mlops_backend="local")
    assert local.rollout_policy("production").describe() == "all-at-once bake 0s"
    assert local.warm_rollback == timedelta(minutes=30)


def test_a_configured_policy_takes_the_bake_and_timeout_settings() -> None:
    s = Settings(
        mlops_production_rollout="linear 20% 2m", mlops_rollout_bake="10m", mlops_rollout_timeout="2h"
    )
    policy = s.rollout_policy("production")
    assert (policy.kind, policy.percent, policy.wait_seconds) == ("linear", 20, 120)
    assert (policy.bake_seconds, policy.timeout_seconds) == (600, 7200)
    assert s.parse_rollout("canary 5% 10m").bake_seconds == 600


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("mlops_production_rollout", "canary 70% 5m", "MLOPS_PRODUCTION_ROLLOUT: a canary is 1% to 50%"),
        ("mlops_staging_rollout", "sideways", "MLOPS_STAGING_ROLLOUT: unknown rollout 'sideways'"),
        ("mlops_rollout_timeout", "1y", "MLOPS_ROLLOUT_TIMEOUT '1y' is not a duration"),
        ("mlops_warm_rollback", "3d", "is not a retention such as 30m or 2h"),
        ("mlops_rollback_alarms", ",".join(f"a{i}" for i in range(11)), "at most 10 rollback alarms"),
    ],
)
def test_bad_settings_say_what_is_wrong(field: str, value: str, said: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(**{field: value})
    assert said in str(caught.value)


def test_rollback_alarms_fall_back_to_the_paging_alarms_and_warm_rollback_can_be_off() -> None:
    assert Settings(mlops_alarm_names="a,b").rollback_alarms == ("a", "b")
    assert Settings(mlops_alarm_names="a", mlops_rollback_alarms="c").rollback_alarms == ("c",)
    assert Settings(mlops_warm_rollback="off").warm_rollback is None
