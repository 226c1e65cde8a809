"""Typed EventBridge events: the envelope, one module per detail-type, and the one ``parse`` entry.

Events are parsed once, where they arrive (HTTP route, Lambda invocation, in-process bus);
everything after works on these models. Field aliases are the names AWS sends.
"""

from .alarm import CLOUDWATCH_SOURCE, DT_ALARM, AlarmDetail, AlarmStateChange
from .endpoint import EndpointDetail, EndpointStateChange
from .endpoint_deployment import EndpointDeploymentDetail, EndpointDeploymentStateChange
from .envelope import MAX_BODY_BYTES, EventBridgeEvent, parse_body
from .fields import EventError, arn_name, parse_time, to_int
from .jobs import (
    DT_PROCESSING_JOB,
    DT_TRAINING_JOB,
    JobDetail,
    ProcessingJobStateChange,
    TrainingJobStateChange,
)
from .model_package import ModelPackageDetail, ModelPackageStateChange
from .parse import KNOWN_DETAIL_TYPES, PlatformChange, parse, parse_batch
from .pipeline_execution import PipelineExecutionDetail, PipelineExecutionStatusChange
from .pipeline_step import PipelineStepDetail, PipelineStepStatusChange

__all__ = [
    "CLOUDWATCH_SOURCE",
    "DT_ALARM",
    "DT_PROCESSING_JOB",
    "DT_TRAINING_JOB",
    "KNOWN_DETAIL_TYPES",
    "MAX_BODY_BYTES",
    "AlarmDetail",
    "AlarmStateChange",
    "EndpointDeploymentDetail",
    "EndpointDeploymentStateChange",
    "EndpointDetail",
    "EndpointStateChange",
    "EventBridgeEvent",
    "EventError",
    "JobDetail",
    "ModelPackageDetail",
    "ModelPackageStateChange",
    "PipelineExecutionDetail",
    "PipelineExecutionStatusChange",
    "PipelineStepDetail",
    "PipelineStepStatusChange",
    "PlatformChange",
    "ProcessingJobStateChange",
    "TrainingJobStateChange",
    "arn_name",
    "parse",
    "parse_batch",
    "parse_body",
    "parse_time",
    "to_int",
]
