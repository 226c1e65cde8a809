"""Rollout policies as typed, checked against the ranges of SageMaker's BlueGreenUpdatePolicy."""

from __future__ import annotations

import pytest

from ml.rollout_policy import RolloutPolicy, parse_rollout


@pytest.mark.parametrize(
    ("text", "kind", "percent", "wait", "steps"),
    [
        ("canary 10% 5m", "canary", 10, 300, (10, 100)),
        ("Canary 50% 0s", "canary", 50, 0, (50, 100)),
        ("linear 20% 2m", "linear", 20, 120, (20, 40, 60, 80, 100)),
        ("linear 30% 90s", "linear", 30, 90, (30, 60, 90, 100)),
        ("all-at-once", "all-at-once", 100, 0, (100,)),
        ("all_at_once", "all-at-once", 100, 0, (100,)),
    ],
)
def test_policies_as_typed(text: str, kind: str, percent: int, wait: int, steps: tuple[int, ...]) -> None:
    policy = parse_rollout(text, bake_seconds=60)
    assert (policy.kind, policy.percent, policy.wait_seconds, policy.steps) == (kind, percent, wait, steps)
    assert policy.bake_seconds == 60
    assert parse_rollout(policy.describe()) == policy  # what it says is what it reads back


def test_bake_in_the_text_wins_over_the_setting() -> None:
    policy = parse_rollout("canary 5% 10m bake 15m", bake_seconds=60)
    assert policy.bake_seconds == 900
    assert policy.total_wait_seconds == 600 + 900


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("canary 51% 5m", "a canary is 1% to 50% of capacity, not 51%"),
        ("canary 0% 5m", "a canary is 1% to 50% of capacity, not 0%"),
        ("linear 5% 1m", "a linear step is 10% to 50% of capacity, not 5%"),
        ("linear 60% 1m", "a linear step is 10% to 50% of capacity, not 60%"),
        ("canary 10% 2h", "the wait between steps is 0s to 60m, not 2h"),
        ("canary 10% 5m bake 2h", "the bake time is 0s to 60m, not 2h"),
        ("canary 10%", "canary needs a size and a wait"),
        ("canary ten 5m", "canary size 'ten' is not a percentage"),
        ("canary 10% soon", "wait 'soon' is not a duration"),
        ("blue-green", "unknown rollout 'blue-green'"),
        ("all-at-once 10%", "all-at-once takes no size or wait"),
        ("canary 10% 5m bake", "`bake` takes one duration at the end"),
        ("", "no rollout given"),
        ("linear 10% 60m", "which must stay under the rollout timeout (1h)"),
    ],
)
def test_what_sagemaker_would_refuse_is_refused_with_words(text: str, said: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_rollout(text)
    assert said in str(caught.value)


def test_the_timeout_is_sagemakers_range() -> None:
    with pytest.raises(ValueError, match="the rollout timeout is 10m to 8h, not 5m"):
        RolloutPolicy("canary", 10, 60, 60, 300)
    with pytest.raises(ValueError, match="not 9h"):
        RolloutPolicy("canary", 10, 60, 60, 9 * 3600)
    assert RolloutPolicy("canary", 10, 60, 60, 8 * 3600).timeout_seconds == 28800


def test_the_ranges_are_those_of_botocores_sagemaker_model() -> None:
    import re

    import botocore.session

    from ml import rollout_policy

    model = botocore.session.get_session().get_service_model("sagemaker")
    routing, policy = model.shape_for("TrafficRoutingConfig"), model.shape_for("BlueGreenUpdatePolicy")

    def bounds(shape: object) -> tuple[int, int]:
        meta = shape.metadata  # type: ignore[attr-defined]
        return int(meta["min"]), int(meta["max"])

    assert bounds(routing.members["WaitIntervalInSeconds"]) == rollout_policy.WAIT_SECONDS
    assert bounds(policy.members["TerminationWaitInSeconds"]) == rollout_policy.BAKE_SECONDS
    assert bounds(policy.members["MaximumExecutionTimeoutInSeconds"]) == rollout_policy.TIMEOUT_SECONDS
    canary = routing.members["CanarySize"].documentation
    linear = routing.members["LinearStepSize"].documentation
    assert "less than or equal to 50%" in canary and rollout_policy.CANARY_PERCENT == (1, 50)
    low, high = (int(n) for n in re.search(r"(\d+)-(\d+)%", linear).groups())  # type: ignore[union-attr]
    assert (low, high) == rollout_policy.LINEAR_PERCENT
