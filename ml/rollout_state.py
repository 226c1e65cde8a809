"""What a rollout looks like while it runs, and what stays warm after it: the values both platforms
report and the bot renders (one live message per promote, the rollback confirmation, the card)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from ml.rollout_policy import RolloutPolicy

#: provisioning: the new fleet is starting; shifting: traffic moves step by step (waiting between
#: steps); baking: all traffic on the new fleet, the old one still up; then one of the endings.
RolloutPhase = Literal["provisioning", "shifting", "baking", "promoted", "rolled-back", "stopped", "failed"]
ENDINGS: tuple[RolloutPhase, ...] = ("promoted", "rolled-back", "stopped", "failed")

AlarmStateValue = Literal["OK", "ALARM", "INSUFFICIENT_DATA"]


@dataclass(frozen=True)
class VariantTraffic:
    """One production variant during a rollout: its share of traffic and how it has done since."""

    name: str
    version: int | None
    #: ``new`` (the version being rolled out), ``old`` (what served before), ``warm`` (kept at 0 %)
    role: Literal["new", "old", "warm"]
    weight_percent: float
    invocations: int = 0
    #: invocations answered with a 5xx (SageMaker's ``Invocation5XXErrors``)
    errors: int = 0
    #: 99th percentile of model latency in milliseconds, None before any invocation
    p99_ms: float | None = None


@dataclass(frozen=True)
class AlarmState:
    """A guardrail alarm as CloudWatch (or the local twin's evaluation of the same rule) reports it."""

    name: str
    state: AlarmStateValue
    #: why it is in that state, with the values that put it there ("6 errors >= 5 in 60 s")
    reason: str = ""


@dataclass(frozen=True)
class RolloutProgress:
    """The current, or last, rollout of an environment."""

    environment: Literal["staging", "production"]
    to_version: int
    from_version: int | None
    policy: RolloutPolicy
    phase: RolloutPhase
    #: the new version's share of traffic now, in percent
    traffic_percent: int
    variants: tuple[VariantTraffic, ...]
    alarms: tuple[AlarmState, ...]
    started_at: datetime
    #: when the current step or the bake ends (None while provisioning or once ended)
    stage_ends_at: datetime | None = None
    #: when a healthy rollout will have ended (None once ended)
    ends_at: datetime | None = None
    #: once ended: why, in words ("alarm mlops-production-5xx: 6 errors >= 5 in 60 s", "stopped by @carol")
    verdict: str = ""
    #: who stopped or finished it, when a person did
    ended_by: str = ""
    #: whether ``finish_rollout`` can cut it short on this platform
    can_finish: bool = True

    @property
    def ended(self) -> bool:
        return self.phase in ENDINGS


@dataclass(frozen=True)
class WarmStandby:
    """The previous production model kept serving-ready at 0 % weight, so a rollback is a weight shift."""

    environment: Literal["staging", "production"]
    version: int
    until: datetime
    #: what keeping it costs, in words ("2 × ml.m5.xlarge, 1.0 instance-hours over 30m")
    cost: str


@dataclass(frozen=True)
class RollbackPath:
    """How a rollback to ``version`` would be carried out, for the confirmation to say before it runs."""

    version: int
    #: True: traffic shifts to a warm variant in seconds; False: a blue/green redeploy
    warm: bool
    detail: str
