"""A running blue/green update as the bot shows it: phase and traffic from DescribeEndpoint, per-fleet
metrics from CloudWatch, the rollback alarms' states; and the two ways a person can act on it.

SageMaker reports an update in ``PendingDeploymentSummary`` (the new fleet's variants and their
``VariantStatus``: Creating, ActivatingTraffic, Baking) and the policy in ``LastDeploymentConfig``;
the share of traffic is the policy's step reached since traffic began. The new fleet reports its
metrics under the serving variant's name with its own ``EndpointConfigName``, the old fleet under its
config's, so each fleet's numbers are read apart. A blue/green update cannot be stopped or cut short
through the API: stopping puts the first rollback alarm in ALARM, which makes SageMaker roll back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ml.clock import Clock
from ml.platform import Environment, InvalidRequest
from ml.rollout_policy import RolloutPolicy
from ml.rollout_state import AlarmState, RolloutPhase, RolloutProgress, VariantTraffic
from ml.sagemaker import naming, traffic
from ml.sagemaker.clients import AwsClients, AwsPart, check_environment
from ml.sagemaker.endpoints import Endpoints
from ml.sagemaker.errors import aws_errors, translate_error

logger = logging.getLogger(__name__)

_METRICS = (("invocations", "Invocations", "Sum"), ("errors", "Invocation5XXErrors", "Sum"))
_STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")


class Progress(AwsPart):
    """``rollout_progress``, ``stop_rollout`` and ``finish_rollout`` of the SageMaker platform."""

    def __init__(self, aws: AwsClients, clock: Clock, endpoints: Endpoints) -> None:
        super().__init__(aws, clock)
        self._endpoints = endpoints

    def progress(self, name: str) -> RolloutProgress | None:
        """The update running on the environment's endpoint; None when none is."""
        env = check_environment(name)
        endpoint = self.config.endpoint_name(env)
        data = self._endpoints.or_none(endpoint)
        if data is None:
            return None
        pending = data.get("PendingDeploymentSummary")
        rolling_back = data.get("EndpointStatus") == "RollingBack"
        if not isinstance(pending, Mapping) and not rolling_back:
            return None
        return self._progress(env, endpoint, data, pending if isinstance(pending, Mapping) else {})

    def _progress(
        self, env: Environment, endpoint: str, data: Mapping[str, Any], pending: Mapping[str, Any]
    ) -> RolloutProgress:
        now = self._clock.now()
        policy = traffic.policy_of(data.get("LastDeploymentConfig")) or self.config.rollout(env)
        new_config = str(pending.get("EndpointConfigName") or "")
        old_config = str(data.get("EndpointConfigName") or "")
        to_version = _version(endpoint, new_config) or 0
        started = _as_datetime(pending.get("StartTime")) or now
        statuses = [
            status
            for variant in pending.get("ProductionVariants") or []
            if variant.get("VariantName") == traffic.SERVING_VARIANT
            for status in variant.get("VariantStatus") or []
        ]
        phase, percent, stage_ends, ends = _stage(policy, statuses, now)
        if data.get("EndpointStatus") == "RollingBack":
            phase, percent, stage_ends, ends = "rolled-back", 0, None, None
        alarms = self.alarm_states()
        fleets = self._metrics(endpoint, {"new": new_config, "old": old_config}, started, now)
        variants = [
            VariantTraffic(
                f"{traffic.SERVING_VARIANT} ({new_config})",
                to_version,
                "new",
                float(percent),
                **fleets["new"],
            ),
            VariantTraffic(
                f"{traffic.SERVING_VARIANT} ({old_config})",
                traffic.serving_version(data),
                "old",
                float(100 - percent),
                **fleets["old"],
            ),
        ]
        for variant in pending.get("ProductionVariants") or []:
            warm = traffic.parse_warm_variant(str(variant.get("VariantName", "")))
            if warm is not None:
                variants.append(VariantTraffic(str(variant["VariantName"]), warm[0], "warm", 0.0))
        fired = [a for a in alarms if a.state == "ALARM"]
        verdict = ""
        if phase == "rolled-back":
            verdict = "; ".join(f"alarm {a.name}: {a.reason}" for a in fired) or str(
                data.get("FailureReason") or "SageMaker is rolling the update back"
            )
        return RolloutProgress(
            environment=env,
            to_version=to_version,
            from_version=traffic.serving_version(data),
            policy=policy,
            phase=phase,
            traffic_percent=percent,
            variants=tuple(variants),
            alarms=alarms,
            started_at=started,
            stage_ends_at=stage_ends,
            ends_at=ends,
            verdict=verdict,
            ended_by="SageMaker" if phase == "rolled-back" else "",
            can_finish=False,
        )

    def alarm_states(self) -> tuple[AlarmState, ...]:
        names = self.config.rollback_alarm_names
        if not names:
            return ()
        try:
            response = self._aws.client("cloudwatch").describe_alarms(
                AlarmNames=list(names), AlarmTypes=["MetricAlarm", "CompositeAlarm"], MaxRecords=100
            )
        except (ClientError, BotoCoreError) as exc:
            logger.warning("Cannot read the rollback alarms: %s", translate_error(exc, "rollback alarms"))
            return ()
        found = {
            str(a.get("AlarmName")): a
            for a in [*response.get("MetricAlarms", []), *response.get("CompositeAlarms", [])]
        }
        states: list[AlarmState] = []
        for name in names:
            alarm = found.get(name)
            if alarm is None:
                states.append(AlarmState(name, "INSUFFICIENT_DATA", "alarm not found in CloudWatch"))
                continue
            value = str(alarm.get("StateValue"))
            state = value if value in _STATES else "INSUFFICIENT_DATA"
            states.append(AlarmState(name, state, str(alarm.get("StateReason") or "")))  # type: ignore[arg-type]
        return tuple(states)

    def _metrics(
        self, endpoint: str, configs: Mapping[str, str], since: datetime, now: datetime
    ) -> dict[str, dict[str, Any]]:
        """Invocations, 5XX errors and p99 model latency (ms) of each fleet since the update began."""
        period = max(60, int((now - since).total_seconds() // 60 + 1) * 60)
        queries: list[dict[str, Any]] = []
        for fleet, config in configs.items():
            dimensions = [
                {"Name": "EndpointName", "Value": endpoint},
                {"Name": "VariantName", "Value": traffic.SERVING_VARIANT},
                {"Name": "EndpointConfigName", "Value": config},
            ]
            stats = [*_METRICS, ("p99_ms", "ModelLatency", "p99")]
            for field, metric, stat in stats:
                queries.append(
                    {
                        "Id": f"{fleet}_{field}".lower(),
                        "MetricStat": {
                            "Metric": {
                                "Namespace": "AWS/SageMaker",
                                "MetricName": metric,
                                "Dimensions": dimensions,
                            },
                            "Period": period,
                            "Stat": stat,
                        },
                        "ReturnData": True,
                    }
                )
        empty: dict[str, dict[str, Any]] = {fleet: {} for fleet in configs}
        try:
            response = self._aws.client("cloudwatch").get_metric_data(
                MetricDataQueries=queries, StartTime=since, EndTime=now + timedelta(minutes=1)
            )
        except (ClientError, BotoCoreError) as exc:
            logger.warning("Cannot read the fleets' metrics: %s", translate_error(exc, "endpoint metrics"))
            return empty
        for result in response.get("MetricDataResults", []):
            fleet, field = str(result["Id"]).split("_", 1)
            values = [float(v) for v in result.get("Values", [])]
            if not values or fleet not in empty:
                continue
            if field == "p99_ms":
                empty[fleet][field] = max(values) / 1000  # ModelLatency is in microseconds
            else:
                empty[fleet][field] = int(sum(values))
        return empty

    def stop(self, name: str, stopped_by: str) -> str:
        """Make SageMaker roll the running update back, through its first rollback alarm."""
        env = check_environment(name)
        endpoint = self.config.endpoint_name(env)
        data = self._endpoints.or_none(endpoint)
        pending = (data or {}).get("PendingDeploymentSummary")
        if data is None or not isinstance(pending, Mapping):
            raise InvalidRequest(f"no rollout is running on {env}")
        if not self.config.rollback_alarm_names:
            raise InvalidRequest(
                f"SageMaker cannot stop a blue/green update except through a rollback alarm, and {env} has "
                "none (set MLOPS_ROLLBACK_ALARMS)"
            )
        alarm = self.config.rollback_alarm_names[0]
        version = _version(endpoint, str(pending.get("EndpointConfigName") or ""))
        with aws_errors(f"alarm '{alarm}'"):
            self._aws.client("cloudwatch").set_alarm_state(
                AlarmName=alarm,
                StateValue="ALARM",
                StateReason=f"Rollout stopped by {stopped_by}"[:1023],
            )
        return (
            f"Alarm {alarm} set to ALARM: SageMaker rolls v{version} back on {endpoint} "
            f"and keeps serving v{traffic.serving_version(data)}"
        )

    def finish(self, name: str, finished_by: str) -> str:
        """Refused: SageMaker runs a blue/green update to its end; says when that is."""
        progress = self.progress(name)
        if progress is None or progress.ended:
            raise InvalidRequest(f"no rollout is running on {name}")
        when = f" by {progress.ends_at:%H:%M} UTC" if progress.ends_at else " after the new fleet is up"
        raise InvalidRequest(
            f"SageMaker cannot cut a blue/green update short; v{progress.to_version} takes all traffic "
            f"and the rollout ends{when}"
        )


def _version(endpoint: str, config_name: str) -> int | None:
    parsed = naming.parse_config_name(endpoint, config_name)
    return parsed[0] if parsed else None


def _as_datetime(value: object) -> datetime | None:
    return value if isinstance(value, datetime) else None


def _stage(
    policy: RolloutPolicy, statuses: Sequence[Mapping[str, Any]], now: datetime
) -> tuple[RolloutPhase, int, datetime | None, datetime | None]:
    """(phase, new fleet's traffic %, end of this stage, end of the rollout) from the new fleet's status."""
    current = statuses[-1] if statuses else {}
    status = str(current.get("Status") or "Creating")
    if status in ("Creating", "Updating"):
        return "provisioning", 0, None, None
    traffic_started = min(
        (
            s["StartTime"]
            for s in statuses
            if s.get("Status") in ("ActivatingTraffic", "Baking") and "StartTime" in s
        ),
        default=_as_datetime(current.get("StartTime")) or now,
    )
    ends = traffic_started + timedelta(seconds=policy.total_wait_seconds)
    steps = policy.steps
    elapsed = (now - traffic_started).total_seconds()
    index = (
        len(steps) - 1
        if policy.wait_seconds == 0
        else min(len(steps) - 1, int(elapsed // policy.wait_seconds))
    )
    percent = steps[index]
    if percent < 100:
        return (
            "shifting",
            percent,
            traffic_started + timedelta(seconds=policy.wait_seconds * (index + 1)),
            ends,
        )
    return "baking", 100, ends, ends
