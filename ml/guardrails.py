"""The guardrail alarms a rollout is watched by, defined once for both platforms.

On SageMaker they are CloudWatch alarms (the template creates them; ``MLOPS_ROLLBACK_ALARMS`` names them
and they go into ``AutoRollbackConfiguration``). The local platform evaluates the same rules on its
endpoint host's per-variant counts, over the same period, so a rollout behaves alike on both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ml.rollout_state import AlarmState


@dataclass(frozen=True)
class GuardrailRule:
    """One alarm on the new variant's metrics in ``AWS/SageMaker`` (dimensions EndpointName, VariantName)."""

    #: the alarm is named ``<endpoint>-<suffix>``
    suffix: str
    metric: Literal["Invocation5XXErrors", "ModelLatency"]
    #: CloudWatch statistic: ``Sum`` for counts, ``p99`` (an extended statistic) for latency
    statistic: Literal["Sum", "p99"]
    #: in the metric's CloudWatch unit: a count, or microseconds for ``ModelLatency``
    threshold: float
    period_seconds: int = 60
    evaluation_periods: int = 1

    def alarm_name(self, endpoint: str) -> str:
        return f"{endpoint}-{self.suffix}"[:255]

    def describe(self) -> str:
        """``5XX errors >= 5 in 60 s`` / ``p99 model latency >= 500 ms in 60 s``."""
        if self.metric == "ModelLatency":
            return f"p99 model latency >= {self.threshold / 1000:g} ms in {self.period_seconds} s"
        return f"5XX errors >= {self.threshold:g} in {self.period_seconds} s"


#: The defaults the template creates and the local platform evaluates.
DEFAULT_RULES: tuple[GuardrailRule, ...] = (
    GuardrailRule("new-variant-5xx", "Invocation5XXErrors", "Sum", 5),
    GuardrailRule("new-variant-p99-latency", "ModelLatency", "p99", 500_000),
)


def evaluate(
    rule: GuardrailRule, endpoint: str, *, invocations: int, errors: int, p99_ms: float | None
) -> AlarmState:
    """The rule's state for one period of the new variant: ALARM at or over the threshold, OK with
    traffic under it, INSUFFICIENT_DATA with no invocation (as CloudWatch reports a metric with no
    datapoint)."""
    name = rule.alarm_name(endpoint)
    if invocations == 0:
        return AlarmState(name, "INSUFFICIENT_DATA", f"no invocations in {rule.period_seconds} s")
    if rule.metric == "Invocation5XXErrors":
        value, shown = float(errors), f"{errors} errors in {invocations} invocations"
    else:
        if p99_ms is None:
            return AlarmState(name, "INSUFFICIENT_DATA", "no latency recorded")
        value, shown = p99_ms * 1000, f"p99 {p99_ms:.0f} ms"
    state: Literal["OK", "ALARM"] = "ALARM" if value >= rule.threshold else "OK"
    return AlarmState(name, state, f"{shown} (threshold: {rule.describe()})")


def default_alarm_names(endpoint: str, rules: Sequence[GuardrailRule] = DEFAULT_RULES) -> tuple[str, ...]:
    return tuple(rule.alarm_name(endpoint) for rule in rules)
