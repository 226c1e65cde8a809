"""``SageMaker Training Job State Change`` and ``SageMaker Processing Job State Change``: a job a step ran."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AliasChoices, Field

from ml.platform import EVENT_SOURCE

from .envelope import EventBridgeEvent
from .fields import AwsModel, OptionalText, Tags, Text, Time

DT_TRAINING_JOB = "SageMaker Training Job State Change"
DT_PROCESSING_JOB = "SageMaker Processing Job State Change"

_FAILURE = Field(
    default=None, validation_alias=AliasChoices("FailureReason", "ExitMessage", "failure_reason")
)


class JobDetail(AwsModel):
    """What the bot reads of either kind of job: the pipeline tags SageMaker puts on it make it ours."""

    kind: ClassVar[Literal["training", "processing"]]
    job_name: Text
    status: Text
    arn: OptionalText = None
    failure_reason: OptionalText = _FAILURE
    started_at: Time = None
    ended_at: Time = None
    tags: Tags = Field(default_factory=dict, alias="Tags")


class TrainingJobDetail(JobDetail):
    kind: ClassVar[Literal["training", "processing"]] = "training"
    job_name: Text = Field(alias="TrainingJobName")
    status: Text = Field(alias="TrainingJobStatus")
    secondary_status: OptionalText = Field(default=None, alias="SecondaryStatus")
    arn: OptionalText = Field(default=None, alias="TrainingJobArn")
    started_at: Time = Field(default=None, alias="TrainingStartTime")
    ended_at: Time = Field(default=None, alias="TrainingEndTime")


class ProcessingJobDetail(JobDetail):
    kind: ClassVar[Literal["training", "processing"]] = "processing"
    job_name: Text = Field(alias="ProcessingJobName")
    status: Text = Field(alias="ProcessingJobStatus")
    arn: OptionalText = Field(default=None, alias="ProcessingJobArn")
    started_at: Time = Field(default=None, alias="ProcessingStartTime")
    ended_at: Time = Field(default=None, alias="ProcessingEndTime")


class TrainingJobStateChange(EventBridgeEvent):
    SOURCE: ClassVar[str | None] = EVENT_SOURCE
    DETAIL_TYPE: ClassVar[str | None] = DT_TRAINING_JOB
    detail: TrainingJobDetail


class ProcessingJobStateChange(EventBridgeEvent):
    SOURCE: ClassVar[str | None] = EVENT_SOURCE
    DETAIL_TYPE: ClassVar[str | None] = DT_PROCESSING_JOB
    detail: ProcessingJobDetail
