"""``CloudWatch Alarm State Change``: an alarm, possibly on the production endpoint, changed state."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, Field

from .envelope import EventBridgeEvent
from .fields import OBJECT_OR_NONE, OBJECTS, AwsModel, OptionalText, Text, Time

CLOUDWATCH_SOURCE = "aws.cloudwatch"
DT_ALARM = "CloudWatch Alarm State Change"


def _dimensions(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


class Metric(AwsModel):
    namespace: OptionalText = None
    name: OptionalText = None
    dimensions: Annotated[dict[str, str], BeforeValidator(_dimensions)] = Field(default_factory=dict)

    @property
    def label(self) -> str:
        """``AWS/SageMaker ModelLatency``."""
        return " ".join(p for p in (self.namespace, self.name) if p)


class MetricStat(AwsModel):
    metric: Annotated[Metric | None, OBJECT_OR_NONE] = None
    stat: OptionalText = None


class AlarmMetric(AwsModel):
    id: OptionalText = None
    #: absent on metric-math expressions, which carry no metric of their own
    metric_stat: Annotated[MetricStat | None, OBJECT_OR_NONE] = Field(default=None, alias="metricStat")
    expression: OptionalText = None


class AlarmConfiguration(AwsModel):
    description: OptionalText = None
    metrics: Annotated[tuple[AlarmMetric, ...], OBJECTS] = ()


class AlarmState(AwsModel):
    value: OptionalText = None
    reason: OptionalText = None
    reason_data: OptionalText = Field(default=None, alias="reasonData")
    timestamp: Time = None


class CurrentAlarmState(AlarmState):
    value: Text


class AlarmDetail(AwsModel):
    alarm_name: Text = Field(alias="alarmName")
    state: CurrentAlarmState
    previous_state: Annotated[AlarmState | None, OBJECT_OR_NONE] = Field(default=None, alias="previousState")
    configuration: Annotated[AlarmConfiguration | None, OBJECT_OR_NONE] = None

    @property
    def _metrics(self) -> list[Metric]:
        metrics = self.configuration.metrics if self.configuration else ()
        return [m.metric_stat.metric for m in metrics if m.metric_stat and m.metric_stat.metric]

    @property
    def endpoints(self) -> tuple[str, ...]:
        """``EndpointName`` dimensions of the alarm's metrics."""
        names = [m.dimensions["EndpointName"] for m in self._metrics if "EndpointName" in m.dimensions]
        return tuple(dict.fromkeys(names))

    @property
    def metric_labels(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.label for m in self._metrics if m.label))


class AlarmStateChange(EventBridgeEvent):
    SOURCE: ClassVar[str | None] = CLOUDWATCH_SOURCE
    DETAIL_TYPE: ClassVar[str | None] = DT_ALARM
    detail: AlarmDetail

    @property
    def alarm_name(self) -> str:
        return self.detail.alarm_name

    @property
    def state(self) -> str:
        return self.detail.state.value

    @property
    def previous_state(self) -> str | None:
        return self.detail.previous_state.value if self.detail.previous_state else None

    @property
    def reason(self) -> str | None:
        return self.detail.state.reason

    @property
    def at(self) -> datetime | None:
        """When the alarm changed state; the event's time when the state does not say."""
        return self.detail.state.timestamp or self.time

    @property
    def description(self) -> str | None:
        return self.detail.configuration.description if self.detail.configuration else None

    @property
    def alarm_arn(self) -> str | None:
        return next((r for r in self.resources if ":alarm:" in r), None)

    @property
    def firing(self) -> bool:
        return self.state == "ALARM" and self.previous_state != "ALARM"
