"""EventBridge events from SageMaker and CloudWatch: parse, normalise, filter.

Real events are looser than their documentation: times come as ISO 8601 strings
(``Z``, ``+00:00`` or ``+0000``) or as epoch milliseconds (numbers or numeric
strings), numbers sometimes come as strings (``"ModelPackageVersion": "3"``),
optional fields come and go, and SageMaker may send several events for one
change. Parsing accepts all of that; only a missing identity (no ``id``,
``detail-type``, ``source`` or ``detail``) or a missing key field makes an event
malformed.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from bot.settings import Settings
from ml.platform import (
    DT_ENDPOINT,
    DT_ENDPOINT_DEPLOYMENT,
    DT_EXECUTION,
    DT_MODEL_PACKAGE,
    DT_STEP,
    EVENT_SOURCE,
    ApprovalStatus,
    EndpointStatus,
    Environment,
    ExecutionStatus,
    StepStatus,
)

log = logging.getLogger(__name__)

CLOUDWATCH_SOURCE = "aws.cloudwatch"
DT_ALARM = "CloudWatch Alarm State Change"
DT_TRAINING_JOB = "SageMaker Training Job State Change"
DT_PROCESSING_JOB = "SageMaker Processing Job State Change"

#: What this module understands, by source.
KNOWN_DETAIL_TYPES: Mapping[str, frozenset[str]] = {
    EVENT_SOURCE: frozenset(
        {
            DT_EXECUTION,
            DT_STEP,
            DT_MODEL_PACKAGE,
            DT_ENDPOINT,
            DT_ENDPOINT_DEPLOYMENT,
            DT_TRAINING_JOB,
            DT_PROCESSING_JOB,
        }
    ),
    CLOUDWATCH_SOURCE: frozenset({DT_ALARM}),
}

#: An EventBridge entry is at most 256 KB; a batch of them stays well under this.
MAX_BODY_BYTES = 1024 * 1024


_E = TypeVar("_E", ExecutionStatus, StepStatus, ApprovalStatus)


class EventError(ValueError):
    """A malformed event; the message says what is wrong with it."""


# -- lenient field readers ---------------------------------------------------------------


def parse_time(value: Any) -> datetime | None:
    """A UTC time from an ISO 8601 string or epoch seconds/milliseconds (number or numeric string)."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            number: float | None = float(text)
        except ValueError:
            number = None
        if number is None:
            if text.endswith(("Z", "z")):
                text = text[:-1] + "+00:00"
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                raise EventError(f"unreadable time {value!r}") from None
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        value = number
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise EventError(f"unreadable time {value!r}")
        # Epoch seconds stay below 1e11 until the year 5138; milliseconds are above it since 1973.
        try:
            seconds = value / 1000 if value >= 1e11 else value
            return datetime.fromtimestamp(seconds, UTC)
        except (ValueError, OverflowError, OSError):  # beyond the years a datetime can hold
            raise EventError(f"unreadable time {value!r}") from None
    raise EventError(f"unreadable time {value!r}")


def to_int(value: Any, name: str) -> int | None:
    """An integer from a number or numeric string (``3``, ``"3"``, ``3.0``)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise EventError(f"{name} must be a number, not {value!r}")
    if isinstance(value, int):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise EventError(f"{name} must be a number, not {value!r}") from None
    if not number.is_integer():
        raise EventError(f"{name} must be a whole number, not {value!r}")
    return int(number)


def _str(detail: Mapping[str, Any], *names: str) -> str | None:
    """The first present, non-empty string field among ``names`` (spellings vary between events)."""
    for name in names:
        value = detail.get(name)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
    return None


def _required(detail: Mapping[str, Any], detail_type: str, *names: str) -> str:
    value = _str(detail, *names)
    if value is None:
        raise EventError(f"{detail_type!r} event has no {names[0]}")
    return value


def _enum_or_raw(enum_type: type[_E], value: str | None) -> _E | str | None:
    if value is None:
        return None
    try:
        return enum_type(value)
    except ValueError:
        return value  # a status this code does not know yet is shown as is, not refused


def arn_name(arn: str | None, resource: str) -> str | None:
    """``my-pipeline`` from ``arn:aws:sagemaker:r:a:pipeline/my-pipeline[/execution/x]``."""
    if not arn:
        return None
    _, sep, rest = arn.partition(f":{resource}/")
    return rest.split("/", 1)[0] if sep else None


def execution_suffix(execution_arn: str) -> str:
    return execution_arn.rstrip("/").rsplit("/", 1)[-1]


# -- the envelope ------------------------------------------------------------------------


@dataclass(frozen=True)
class Envelope:
    id: str
    source: str
    detail_type: str
    detail: Mapping[str, Any]
    time: datetime | None = None
    account: str = ""
    region: str = ""
    resources: tuple[str, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def known(self) -> bool:
        return self.detail_type in KNOWN_DETAIL_TYPES.get(self.source, frozenset())


def parse_envelope(raw: Any) -> Envelope:
    if not isinstance(raw, Mapping):
        raise EventError(f"an event must be a JSON object, not {type(raw).__name__}")
    problems = [k for k in ("id", "source", "detail-type") if not isinstance(raw.get(k), str) or not raw[k]]
    if problems:
        raise EventError(f"event lacks {', '.join(problems)}")
    detail = raw.get("detail")
    if isinstance(detail, str):  # some relays forward the detail JSON-encoded
        try:
            detail = json.loads(detail)
        except json.JSONDecodeError as exc:
            raise EventError(f"event {raw['id']}: detail is not JSON: {exc.msg}") from None
        except RecursionError:
            raise EventError(f"event {raw['id']}: detail is nested too deeply") from None
    if not isinstance(detail, Mapping):
        raise EventError(f"event {raw['id']}: detail must be a JSON object")
    resources = raw.get("resources") or []
    if not isinstance(resources, list):
        raise EventError(f"event {raw['id']}: resources must be a list")
    try:
        at = parse_time(raw.get("time"))
    except EventError:
        at = None  # the envelope time is informational; a bad one must not lose the event
    return Envelope(
        id=str(raw["id"]),
        source=str(raw["source"]),
        detail_type=str(raw["detail-type"]),
        detail=dict(detail),
        time=at,
        account=str(raw.get("account") or ""),
        region=str(raw.get("region") or ""),
        resources=tuple(str(r) for r in resources),
        raw=dict(raw),
    )


def parse_body(body: bytes) -> list[Any]:
    """The events of a request body: one event object or a JSON list of them."""
    if len(body) > MAX_BODY_BYTES:
        raise EventError(f"body of {len(body)} bytes exceeds {MAX_BODY_BYTES}")
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EventError(f"body is not JSON: {exc}") from None
    except RecursionError:
        raise EventError("body is nested too deeply") from None
    events = data if isinstance(data, list) else [data]
    if not events:
        raise EventError("body is an empty list")
    return events


# -- normalised events -------------------------------------------------------------------


@dataclass(frozen=True)
class PipelineExecutionChange:
    event_id: str
    pipeline_name: str
    execution_arn: str
    status: ExecutionStatus | str
    previous_status: ExecutionStatus | str | None = None
    display_name: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    failure_reason: str | None = None

    @property
    def execution_id(self) -> str:
        return execution_suffix(self.execution_arn)


@dataclass(frozen=True)
class PipelineStepChange:
    event_id: str
    pipeline_name: str
    execution_arn: str
    step_name: str
    status: StepStatus | str
    previous_status: StepStatus | str | None = None
    step_type: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    failure_reason: str | None = None
    job_arn: str | None = None

    @property
    def execution_id(self) -> str:
        return execution_suffix(self.execution_arn)


@dataclass(frozen=True)
class ModelPackageChange:
    event_id: str
    group: str
    version: int
    arn: str
    approval_status: ApprovalStatus | str
    package_status: str | None = None
    approval_description: str | None = None
    created_at: datetime | None = None
    modified_at: datetime | None = None
    generated_by: str | None = None


@dataclass(frozen=True)
class EndpointChange:
    event_id: str
    endpoint_name: str
    status: EndpointStatus | None
    raw_status: str
    config_name: str | None = None
    failure_reason: str | None = None
    modified_at: datetime | None = None


@dataclass(frozen=True)
class EndpointDeploymentChange:
    event_id: str
    endpoint_name: str
    status: EndpointStatus | None
    raw_status: str
    config_name: str | None = None
    pending_config_name: str | None = None
    failure_reason: str | None = None
    modified_at: datetime | None = None
    #: ``VariantStatus`` messages of the deployment in progress ("Baking for 600 seconds ...")
    stage_messages: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        """A failed update, or one SageMaker is undoing (auto-rollback on an alarm).

        Once the endpoint is InService again it is an ending, whatever reason it carries: which
        config it ended on (the requested one, or the old one after a rollback) is checked then.
        """
        if self.status is EndpointStatus.IN_SERVICE:
            return False
        return self.status in (EndpointStatus.FAILED, EndpointStatus.ROLLING_BACK) or bool(
            self.failure_reason
        )


@dataclass(frozen=True)
class JobChange:
    event_id: str
    kind: Literal["training", "processing"]
    job_name: str
    status: str
    arn: str | None = None
    failure_reason: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AlarmChange:
    event_id: str
    alarm_name: str
    state: str
    previous_state: str | None = None
    reason: str | None = None
    at: datetime | None = None
    description: str | None = None
    alarm_arn: str | None = None
    region: str = ""
    #: ``EndpointName`` dimensions of the alarm's metrics
    endpoints: tuple[str, ...] = ()
    #: ``AWS/SageMaker ModelLatency`` style labels of the alarm's metrics
    metrics: tuple[str, ...] = ()

    @property
    def firing(self) -> bool:
        return self.state == "ALARM" and self.previous_state != "ALARM"


PlatformChange = (
    PipelineExecutionChange
    | PipelineStepChange
    | ModelPackageChange
    | EndpointChange
    | EndpointDeploymentChange
    | JobChange
    | AlarmChange
)


def normalise(env: Envelope) -> PlatformChange | None:
    """The typed change an event describes; None for events this module does not know."""
    if not env.known:
        return None
    d = env.detail
    dt = env.detail_type
    if dt == DT_EXECUTION:
        execution_arn = _required(d, dt, "pipelineExecutionArn")
        pipeline_arn = _str(d, "pipelineArn")
        return PipelineExecutionChange(
            event_id=env.id,
            pipeline_name=arn_name(pipeline_arn or execution_arn, "pipeline") or "",
            execution_arn=execution_arn,
            status=_enum_or_raw(ExecutionStatus, _required(d, dt, "currentPipelineExecutionStatus")) or "",
            previous_status=_enum_or_raw(ExecutionStatus, _str(d, "previousPipelineExecutionStatus")),
            display_name=_str(d, "pipelineExecutionDisplayName"),
            started_at=parse_time(d.get("executionStartTime")),
            ended_at=parse_time(d.get("executionEndTime")),
            failure_reason=_str(d, "failureReason", "FailureReason"),
        )
    if dt == DT_STEP:
        execution_arn = _required(d, dt, "pipelineExecutionArn")
        metadata = d.get("metadata")
        job_arn = None
        if isinstance(metadata, Mapping):
            for value in metadata.values():
                if isinstance(value, Mapping) and isinstance(value.get("arn"), str):
                    job_arn = value["arn"]
                    break
        return PipelineStepChange(
            event_id=env.id,
            pipeline_name=arn_name(_str(d, "pipelineArn") or execution_arn, "pipeline") or "",
            execution_arn=execution_arn,
            step_name=_required(d, dt, "stepName"),
            status=_enum_or_raw(StepStatus, _required(d, dt, "currentStepStatus")) or "",
            previous_status=_enum_or_raw(StepStatus, _str(d, "previousStepStatus")),
            step_type=_str(d, "stepType"),
            started_at=parse_time(d.get("stepStartTime")),
            ended_at=parse_time(d.get("stepEndTime")),
            failure_reason=_str(d, "failureReason", "FailureReason"),
            job_arn=job_arn,
        )
    if dt == DT_MODEL_PACKAGE:
        arn = _str(d, "ModelPackageArn") or next((r for r in env.resources if ":model-package/" in r), "")
        version = to_int(d.get("ModelPackageVersion"), "ModelPackageVersion")
        if version is None and arn:
            version = to_int(arn.rstrip("/").rsplit("/", 1)[-1], "ModelPackageVersion")
        if version is None:
            raise EventError(f"{dt!r} event has no ModelPackageVersion")
        metadata = d.get("MetadataProperties")
        return ModelPackageChange(
            event_id=env.id,
            group=_str(d, "ModelPackageGroupName") or arn_name(arn, "model-package") or "",
            version=version,
            arn=arn,
            approval_status=_enum_or_raw(ApprovalStatus, _required(d, dt, "ModelApprovalStatus")) or "",
            package_status=_str(d, "ModelPackageStatus"),
            approval_description=_str(d, "ApprovalDescription"),
            created_at=parse_time(d.get("CreationTime")),
            modified_at=parse_time(d.get("LastModifiedTime")),
            generated_by=_str(metadata, "GeneratedBy") if isinstance(metadata, Mapping) else None,
        )
    if dt in (DT_ENDPOINT, DT_ENDPOINT_DEPLOYMENT):
        name = _str(d, "EndpointName") or arn_name(_str(d, "EndpointArn"), "endpoint")
        if not name:
            raise EventError(f"{dt!r} event has no EndpointName")
        raw_status = _str(d, "EndpointStatus") or ""
        status = EndpointStatus.parse(raw_status)
        config_name = _str(d, "EndpointConfigName")
        failure_reason = _str(d, "FailureReason", "failureReason")
        modified_at = parse_time(d.get("LastModifiedTime"))
        if dt == DT_ENDPOINT:
            return EndpointChange(env.id, name, status, raw_status, config_name, failure_reason, modified_at)
        pending = d.get("PendingDeploymentSummary")
        pending = pending if isinstance(pending, Mapping) else {}
        return EndpointDeploymentChange(
            env.id,
            name,
            status,
            raw_status,
            config_name,
            pending_config_name=_str(pending, "EndpointConfigName"),
            failure_reason=failure_reason,
            modified_at=modified_at,
            stage_messages=_stage_messages(d, pending),
        )
    if dt in (DT_TRAINING_JOB, DT_PROCESSING_JOB):
        kind: Literal["training", "processing"] = "training" if dt == DT_TRAINING_JOB else "processing"
        prefix = "TrainingJob" if kind == "training" else "ProcessingJob"
        return JobChange(
            event_id=env.id,
            kind=kind,
            job_name=_required(d, dt, f"{prefix}Name"),
            status=_required(d, dt, f"{prefix}Status"),
            arn=_str(d, f"{prefix}Arn"),
            failure_reason=_str(d, "FailureReason", "ExitMessage"),
            started_at=parse_time(d.get("TrainingStartTime", d.get("ProcessingStartTime"))),
            ended_at=parse_time(d.get("TrainingEndTime", d.get("ProcessingEndTime"))),
            tags=_tags(d.get("Tags")),
        )
    # CloudWatch alarm
    state = d.get("state")
    state = state if isinstance(state, Mapping) else {}
    previous = d.get("previousState")
    previous = previous if isinstance(previous, Mapping) else {}
    config = d.get("configuration")
    config = config if isinstance(config, Mapping) else {}
    endpoints, metrics = _alarm_metrics(config.get("metrics"))
    return AlarmChange(
        event_id=env.id,
        alarm_name=_required(d, dt, "alarmName"),
        state=_required(state, dt, "value"),
        previous_state=_str(previous, "value"),
        reason=_str(state, "reason"),
        at=parse_time(state.get("timestamp")) or env.time,
        description=_str(config, "description"),
        alarm_arn=next((r for r in env.resources if ":alarm:" in r), None),
        region=env.region,
        endpoints=endpoints,
        metrics=metrics,
    )


def _stage_messages(detail: Mapping[str, Any], pending: Mapping[str, Any]) -> tuple[str, ...]:
    messages: list[str] = []
    for source in (pending.get("ProductionVariants"), detail.get("ProductionVariants")):
        if not isinstance(source, list):
            continue
        for variant in source:
            statuses = variant.get("VariantStatus") if isinstance(variant, Mapping) else None
            for status in statuses if isinstance(statuses, list) else []:
                if isinstance(status, Mapping) and (msg := _str(status, "StatusMessage")):
                    messages.append(msg)
    return tuple(dict.fromkeys(messages))


def _tags(value: Any) -> dict[str, str]:
    """Tags arrive as a mapping or as a list of ``{"Key": ..., "Value": ...}``."""
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, list):
        return {
            str(t.get("Key", t.get("key"))): str(t.get("Value", t.get("value", "")))
            for t in value
            if isinstance(t, Mapping) and (t.get("Key") or t.get("key"))
        }
    return {}


def _alarm_metrics(value: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    endpoints: list[str] = []
    labels: list[str] = []
    for entry in value if isinstance(value, list) else []:
        stat = entry.get("metricStat") if isinstance(entry, Mapping) else None
        metric = stat.get("metric") if isinstance(stat, Mapping) else None
        if not isinstance(metric, Mapping):
            continue  # metric-math expressions carry no metric of their own
        label = " ".join(p for p in (_str(metric, "namespace"), _str(metric, "name")) if p)
        if label:
            labels.append(label)
        dims = metric.get("dimensions")
        if isinstance(dims, Mapping) and isinstance(dims.get("EndpointName"), str):
            endpoints.append(dims["EndpointName"])
    return tuple(dict.fromkeys(endpoints)), tuple(dict.fromkeys(labels))


# -- filtering -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EventFilter:
    """Which resources are ours: events about anything else are ignored."""

    pipeline_name: str
    model_package_group: str
    #: endpoint name (lower-cased: SageMaker endpoint names are case-insensitive) -> environment
    endpoints: Mapping[str, Environment]
    alarm_names: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings) -> EventFilter:
        return cls(
            pipeline_name=settings.mlops_pipeline_name,
            model_package_group=settings.mlops_model_package_group,
            endpoints={
                settings.endpoint_name("staging").lower(): "staging",
                settings.endpoint_name("production").lower(): "production",
            },
            alarm_names=frozenset(settings.mlops_alarm_names),
        )

    def environment_of(self, endpoint_name: str) -> Environment | None:
        return self.endpoints.get(endpoint_name.lower())

    def production_alarm(self, alarm: AlarmChange) -> bool:
        """A configured alarm, or one watching the production endpoint's metrics."""
        if alarm.alarm_name in self.alarm_names:
            return True
        return any(self.environment_of(e) == "production" for e in alarm.endpoints)

    def relevant(self, change: PlatformChange) -> bool:
        # ARNs carry resource names lower-cased, so names are compared case-insensitively.
        pipeline = self.pipeline_name.lower()
        if isinstance(change, PipelineExecutionChange | PipelineStepChange):
            return change.pipeline_name.lower() == pipeline
        if isinstance(change, ModelPackageChange):
            return change.group.lower() == self.model_package_group.lower()
        if isinstance(change, EndpointChange | EndpointDeploymentChange):
            return self.environment_of(change.endpoint_name) is not None
        if isinstance(change, JobChange):
            # Pipeline steps tag their jobs with the execution ARN; other jobs are not ours.
            return any(arn_name(v, "pipeline") == pipeline for v in change.tags.values())
        return self.production_alarm(change)
