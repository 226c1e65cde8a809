"""``SageMaker Model Building Pipeline Execution Step Status Change``: one step of a run changed status."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import AliasChoices, BeforeValidator, Field

from ml.platform import DT_STEP, EVENT_SOURCE, StepStatus

from .envelope import EventBridgeEvent
from .fields import (
    OBJECT_OR_NONE,
    OptionalText,
    Text,
    Time,
    enum_or_raw,
)
from .pipeline_execution import PipelineRef

Status = Annotated[StepStatus | str, BeforeValidator(enum_or_raw(StepStatus))]


class PipelineStepDetail(PipelineRef):
    step_name: Text = Field(alias="stepName")
    status: Status = Field(alias="currentStepStatus")
    previous_status: Status | None = Field(default=None, alias="previousStepStatus")
    step_type: OptionalText = Field(default=None, alias="stepType")
    started_at: Time = Field(default=None, alias="stepStartTime")
    ended_at: Time = Field(default=None, alias="stepEndTime")
    failure_reason: OptionalText = Field(
        default=None, validation_alias=AliasChoices("failureReason", "FailureReason", "failure_reason")
    )
    #: ``{"trainingJob": {"arn": ...}}`` and the like: the job the step ran, keyed by its kind
    metadata: Annotated[dict[str, Any] | None, OBJECT_OR_NONE] = None

    @property
    def job_arn(self) -> str | None:
        for value in (self.metadata or {}).values():
            if isinstance(value, dict) and isinstance(value.get("arn"), str):
                return str(value["arn"])
        return None


class PipelineStepStatusChange(EventBridgeEvent):
    SOURCE: ClassVar[str | None] = EVENT_SOURCE
    DETAIL_TYPE: ClassVar[str | None] = DT_STEP
    detail: PipelineStepDetail
