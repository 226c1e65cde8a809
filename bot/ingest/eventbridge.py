"""Which EventBridge events are about this bot's resources (the events are ``bot.ingest.models``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.settings import Settings
from ml.platform import Environment

from .models import (
    AlarmStateChange,
    EndpointDeploymentStateChange,
    EndpointStateChange,
    EventBridgeEvent,
    ModelPackageStateChange,
    PipelineExecutionStatusChange,
    PipelineStepStatusChange,
    ProcessingJobStateChange,
    TrainingJobStateChange,
    arn_name,
)


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

    def production_alarm(self, alarm: AlarmStateChange) -> bool:
        """A configured alarm, or one watching the production endpoint's metrics."""
        if alarm.alarm_name in self.alarm_names:
            return True
        return any(self.environment_of(e) == "production" for e in alarm.detail.endpoints)

    def relevant(self, event: EventBridgeEvent) -> bool:
        # ARNs carry resource names lower-cased, so names are compared case-insensitively.
        pipeline = self.pipeline_name.lower()
        if isinstance(event, PipelineExecutionStatusChange | PipelineStepStatusChange):
            return event.detail.pipeline_name.lower() == pipeline
        if isinstance(event, ModelPackageStateChange):
            return event.detail.group.lower() == self.model_package_group.lower()
        if isinstance(event, EndpointStateChange | EndpointDeploymentStateChange):
            return self.environment_of(event.detail.endpoint_name) is not None
        if isinstance(event, TrainingJobStateChange | ProcessingJobStateChange):
            # Pipeline steps tag their jobs with the execution ARN; other jobs are not ours.
            return any(arn_name(v, "pipeline") == pipeline for v in event.detail.tags.values())
        if isinstance(event, AlarmStateChange):
            return self.production_alarm(event)
        return False
