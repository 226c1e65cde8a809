"""``SageMaker Model Building Pipeline Execution Status Change``: a pipeline run changed status."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import AliasChoices, BeforeValidator, Field

from ml.platform import DT_EXECUTION, EVENT_SOURCE, ExecutionStatus

from .envelope import EventBridgeEvent
from .fields import AwsModel, OptionalText, Text, Time, arn_name, enum_or_raw, execution_suffix

Status = Annotated[ExecutionStatus | str, BeforeValidator(enum_or_raw(ExecutionStatus))]


class PipelineRef(AwsModel):
    """The run an execution or step event is about; both detail-types name it the same way."""

    execution_arn: Text = Field(alias="pipelineExecutionArn")
    pipeline_arn: OptionalText = Field(default=None, alias="pipelineArn")

    @property
    def pipeline_name(self) -> str:
        """From ``pipelineArn``, or from the execution ARN when an event leaves it out."""
        return arn_name(self.pipeline_arn or self.execution_arn, "pipeline") or ""

    @property
    def execution_id(self) -> str:
        return execution_suffix(self.execution_arn)


class PipelineExecutionDetail(PipelineRef):
    status: Status = Field(alias="currentPipelineExecutionStatus")
    previous_status: Status | None = Field(default=None, alias="previousPipelineExecutionStatus")
    display_name: OptionalText = Field(default=None, alias="pipelineExecutionDisplayName")
    description: OptionalText = Field(default=None, alias="pipelineExecutionDescription")
    started_at: Time = Field(default=None, alias="executionStartTime")
    ended_at: Time = Field(default=None, alias="executionEndTime")
    failure_reason: OptionalText = Field(
        default=None, validation_alias=AliasChoices("failureReason", "FailureReason", "failure_reason")
    )


class PipelineExecutionStatusChange(EventBridgeEvent):
    SOURCE: ClassVar[str | None] = EVENT_SOURCE
    DETAIL_TYPE: ClassVar[str | None] = DT_EXECUTION
    detail: PipelineExecutionDetail
