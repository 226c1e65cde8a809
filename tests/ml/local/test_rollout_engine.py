"""Canary and linear promotes on the local endpoint host: real weighted routing, guardrails, stop, events."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bot.ingest.models import EndpointDeploymentStateChange
from ml.local import LocalPlatform
from ml.local.chaos import set_chaos
from ml.platform import DT_ENDPOINT_DEPLOYMENT, EndpointStatus, InvalidRequest, RolledBack
from ml.rollout_policy import parse_rollout
from tests.ml.clocks import ManualClock
from tests.ml.local.rollouts import PRODUCTION, Answered, Promote, invoke, platform_on

CANARY = parse_rollout("canary 10% 1m", bake_seconds=30)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def test_a_healthy_canary_splits_traffic_by_weight_then_promotes(
    release_home: Path, clock: ManualClock
) -> None:
    with platform_on(release_home, clock) as platform:
        promote = Promote(clock, lambda: platform.deploy("production", 2, "UCAROL", rollout=CANARY))
        canary, baking = Answered(), Answered()
        seen: list[Any] = []

        def traffic(second: int) -> None:
            if second == 0:
                invoke(platform, 40, canary)
            elif second == 1:  # the engine's tick has evaluated the guardrails on that traffic
                seen.append(platform.rollout_progress("production"))
            elif second == 70:  # after the 60 s wait: all traffic on v2, baking
                invoke(platform, 10, baking)
                seen.append(platform.rollout_progress("production"))

        promote.drive(traffic)

        assert promote.error is None and promote.result is not None
        assert (promote.result.status, promote.result.version) == (EndpointStatus.IN_SERVICE, 2)
        assert Counter(canary.versions) == {"1": 36, "2": 4} and not canary.failures
        assert set(canary.variants) == {"v1", "v2"}
        assert baking.versions == ["2"] * 10
        during, bake = seen
        assert (during.phase, during.traffic_percent) == ("shifting", 10)
        new = next(v for v in during.variants if v.role == "new")
        assert (new.version, new.weight_percent, new.invocations, new.errors) == (2, 10.0, 4, 0)
        assert {a.state for a in during.alarms} == {"OK"}
        assert (bake.phase, bake.traffic_percent) == ("baking", 100)
        done = platform.rollout_progress("production")
        assert done is not None and (done.phase, done.verdict) == (
            "promoted",
            "promoted: v2 serves all traffic",
        )
        standby = platform.warm_standby("production")
        assert standby is not None and standby.version == 1


def test_a_failing_canary_is_rolled_back_naming_the_alarm_and_its_values(
    release_home: Path, clock: ManualClock
) -> None:
    with platform_on(release_home, clock) as platform:
        set_chaos(platform.home, 2, error_rate=0.5, latency_ms=0, version_exists=lambda v: v == 2)
        promote = Promote(clock, lambda: platform.deploy("production", 2, "UCAROL", rollout=CANARY))
        sent = Answered()
        promote.drive(lambda second: invoke(platform, 100, sent) if second == 0 else None)

        assert isinstance(promote.error, RolledBack)
        undone = promote.error
        alarm = f"{PRODUCTION}-new-variant-5xx"
        assert (undone.requested_version, undone.serving_version, undone.alarms) == (2, 1, (alarm,))
        assert undone.reason is not None and alarm in str(undone)  # the name once, the values in the reason
        assert "5 errors in 10 invocations" in undone.reason
        assert len(sent.failures) == 5 and sent.failures == [424] * 5  # the container's 500, as ModelError
        info = platform.describe_endpoint("production")
        assert (info.status, info.version) == (EndpointStatus.IN_SERVICE, 1)
        after = invoke(platform, 10)
        assert after.versions == ["1"] * 10 and after.variants == ["AllTraffic"] * 10
        progress = platform.rollout_progress("production")
        assert progress is not None and progress.phase == "rolled-back" and alarm in progress.verdict
        assert platform.rolled_back_update("production", 2) is not None
        assert platform.warm_standby("production") is None


def test_stop_from_another_process_sends_traffic_back(release_home: Path, clock: ManualClock) -> None:
    with platform_on(release_home, clock) as platform:
        with pytest.raises(InvalidRequest, match="no rollout is running"):
            platform.stop_rollout("production", "UCAROL")
        promote = Promote(clock, lambda: platform.deploy("production", 2, "UCAROL", rollout=CANARY))
        said: list[str] = []

        def stop(second: int) -> None:
            if second == 5:
                with LocalPlatform(release_home) as other:  # as the bot's ticker process would
                    said.append(other.stop_rollout("production", "UDAVE"))
                    with pytest.raises(InvalidRequest, match="UDAVE already asked to stop"):
                        other.finish_rollout("production", "UERIN")

        promote.drive(stop)

        assert said == ["Stopping the canary of v2 on production: traffic goes back to v1"]
        assert isinstance(promote.error, RolledBack) and promote.error.rolled_back_by == "UDAVE"
        progress = platform.rollout_progress("production")
        assert progress is not None and (progress.phase, progress.ended_by) == ("stopped", "UDAVE")
        assert invoke(platform, 5).versions == ["1"] * 5


def test_finish_now_promotes_at_once(release_home: Path, clock: ManualClock) -> None:
    with platform_on(release_home, clock) as platform:
        promote = Promote(clock, lambda: platform.deploy("production", 2, "UCAROL", rollout=CANARY))
        said: list[str] = []
        promote.drive(
            lambda s: said.append(platform.finish_rollout("production", "UCAROL")) if s == 3 else None
        )
        assert promote.result is not None and promote.result.version == 2
        progress = platform.rollout_progress("production")
        assert progress is not None and progress.ended_by == "UCAROL" and "finished early" in progress.verdict
        assert said and said[0].startswith("Finishing the canary of v2 on production")


def test_linear_steps_in_order_with_deployment_events_the_bot_parses(
    release_home: Path, clock: ManualClock
) -> None:
    with platform_on(release_home, clock) as platform:
        events: list[dict[str, Any]] = []
        platform.subscribe(events.append)
        policy = parse_rollout("linear 20% 10s", bake_seconds=5)
        shares: list[int] = []

        def watch(_second: int) -> None:
            progress = platform.rollout_progress("production")
            assert progress is not None
            if not shares or shares[-1] != progress.traffic_percent:
                shares.append(progress.traffic_percent)

        promote = Promote(clock, lambda: platform.deploy("production", 2, "UCAROL", rollout=policy))
        promote.drive(watch)
        assert promote.error is None
        assert platform.flush_events()

    assert shares == [20, 40, 60, 80, 100]
    parsed = [
        EndpointDeploymentStateChange.model_validate(e)
        for e in events
        if e["detail-type"] == DT_ENDPOINT_DEPLOYMENT
    ]
    stages = [
        s.status
        for p in parsed
        for v in (p.detail.pending.variants if p.detail.pending else ())
        for s in v.statuses
    ]
    assert stages[0] == "Creating"
    assert stages[1:] == ["ActivatingTraffic", "Baking"] * 5
    messages = [m for p in parsed for m in p.detail.stage_messages if m.startswith("Shifting")]
    assert messages == [f"Shifting {n}% of traffic to v2." for n in (20, 40, 60, 80, 100)]
    assert parsed[-1].detail.status is EndpointStatus.IN_SERVICE and not parsed[-1].detail.failed
    assert all(p.detail.endpoint_name == PRODUCTION for p in parsed)
