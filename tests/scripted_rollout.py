"""The real local platform, reporting rollouts a test scripts: progress, stop and finish, warm standbys.

Everything else (registry, endpoints, events) is the local platform's own; only what a rollout looks
like is set by the test, step by step, so that the bot's side can be checked before the platform's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ml.local import LocalPlatform
from ml.platform import EndpointInfo, Environment, InvalidRequest
from ml.rollout_policy import RolloutPolicy, parse_rollout
from ml.rollout_state import (
    AlarmState,
    RollbackPath,
    RolloutPhase,
    RolloutProgress,
    VariantTraffic,
    WarmStandby,
)

START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
CANARY = parse_rollout("canary 10% 5m", bake_seconds=300)
ALARM_5XX = "mlops-xgboost-production-new-variant-5xx"
ALARM_P99 = "mlops-xgboost-production-new-variant-p99-latency"


def progress(
    phase: RolloutPhase = "shifting",
    traffic: int = 10,
    *,
    seconds_in: int = 0,
    policy: RolloutPolicy = CANARY,
    to_version: int = 2,
    from_version: int | None = 1,
    invocations: int = 0,
    errors: int = 0,
    p99_ms: float | None = None,
    alarm: AlarmState | None = None,
    verdict: str = "",
    ended_by: str = "",
    can_finish: bool = True,
    started_at: datetime = START,
) -> RolloutProgress:
    """One reading of a canary on production, ``seconds_in`` after it started."""
    ended = phase in ("promoted", "rolled-back", "stopped", "failed")
    now = started_at + timedelta(seconds=seconds_in)
    stage_end = None if ended else now + timedelta(seconds=200)
    alarms = (
        alarm or AlarmState(ALARM_5XX, "OK", f"{errors} errors in {invocations} invocations"),
        AlarmState(ALARM_P99, "INSUFFICIENT_DATA", "no latency recorded"),
    )
    return RolloutProgress(
        environment="production",
        to_version=to_version,
        from_version=from_version,
        policy=policy,
        phase=phase,
        traffic_percent=traffic,
        variants=(
            VariantTraffic("v2-new", to_version, "new", traffic, invocations, errors, p99_ms),
            VariantTraffic("v1-old", from_version, "old", 100 - traffic, invocations * 9, 0, 12.0),
        ),
        alarms=alarms,
        started_at=started_at,
        stage_ends_at=stage_end,
        ends_at=None if ended else now + timedelta(seconds=500),
        verdict=verdict,
        ended_by=ended_by,
        can_finish=can_finish,
    )


class ScriptedPlatform(LocalPlatform):
    """``LocalPlatform`` whose rollout readings, warm standby and rollback path are set by the test."""

    def __init__(self, home: Path, **kwargs: Any) -> None:
        kwargs.setdefault("host_endpoints_in_process", True)
        super().__init__(home, **kwargs)
        self.current: RolloutProgress | None = None
        self.deploys: list[tuple[Environment, int, RolloutPolicy | None]] = []
        self.cut_short: list[tuple[str, str]] = []
        self.warm: WarmStandby | None = None
        self.warm_due = False
        self.path: RollbackPath | None = None
        #: called inside ``deploy`` before the switch, as a rollout would be running then
        self.during_deploy: Callable[[], None] | None = None

    def deploy(
        self, environment: Environment, version: int, deployed_by: str, rollout: RolloutPolicy | None = None
    ) -> EndpointInfo:
        self.deploys.append((environment, version, rollout))
        if self.during_deploy is not None:
            self.during_deploy()
        # The policy is what the test checks; the switch itself happens at once (readings are scripted).
        return super().deploy(environment, version, deployed_by)

    def rollout_progress(self, environment: Environment) -> RolloutProgress | None:
        return self.current if self.current is not None and self.current.environment == environment else None

    def stop_rollout(self, environment: Environment, stopped_by: str) -> str:
        running = self.rollout_progress(environment)
        if running is None or running.ended:
            raise InvalidRequest(f"no rollout is running on {environment}")
        self.cut_short.append(("stop", stopped_by))
        self.current = replace(
            running, phase="stopped", ended_by=stopped_by, verdict=f"stopped by {stopped_by}"
        )
        return (
            f"Stopped the rollout of v{running.to_version}: all traffic is back on v{running.from_version}."
        )

    def finish_rollout(self, environment: Environment, finished_by: str) -> str:
        running = self.rollout_progress(environment)
        if running is None or running.ended:
            raise InvalidRequest(f"no rollout is running on {environment}")
        self.cut_short.append(("finish", finished_by))
        self.current = replace(running, phase="promoted", traffic_percent=100, ended_by=finished_by)
        return f"Finished the rollout of v{running.to_version}: all traffic is on it now."

    def warm_standby(self, environment: Environment) -> WarmStandby | None:
        return self.warm if environment == "production" else None

    def retire_warm(self, environment: Environment) -> bool:
        if environment != "production" or self.warm is None or not self.warm_due:
            return False
        self.warm = None
        return True

    def rollback_path(self, environment: Environment, version: int) -> RollbackPath:
        return self.path or super().rollback_path(environment, version)
