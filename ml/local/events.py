"""EventBridge-shaped events, built exactly as SageMaker publishes them, and their in-process bus.

Field names, casing and time formats follow the events SageMaker sends to EventBridge, so code that
reacts to the local platform's events reacts to AWS's unchanged. Two quirks of the real events are kept
on purpose:

* ``EndpointStatus`` in "SageMaker Endpoint State Change" is upper snake case (``IN_SERVICE``), unlike
  the ``DescribeEndpoint`` API (``InService``); ``EndpointStatus.parse`` maps both back.
* Endpoint ``CreationTime``/``LastModifiedTime`` are epoch milliseconds; pipeline and model package
  times are ISO 8601 strings.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ml.clock import SYSTEM_CLOCK
from ml.platform import (
    DT_ENDPOINT,
    DT_EXECUTION,
    DT_MODEL_PACKAGE,
    DT_STEP,
    EVENT_SOURCE,
    ApprovalStatus,
    EndpointStatus,
    EventListener,
    ExecutionStatus,
    PlatformEvent,
    StepStatus,
)

from .workers import consume

log = logging.getLogger(__name__)

ACCOUNT = "000000000000"
REGION = "local"

#: What SageMaker reports as ``stepType`` for each of our steps.
STEP_TYPES: Mapping[str, str] = {
    "PreprocessData": "Processing",
    "TrainModel": "Training",
    "EvaluateModel": "Processing",
    "CheckAccuracy": "Condition",
    "RegisterModel": "RegisterModel",
}


def arn(resource: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{resource}"


def pipeline_arn(pipeline_name: str) -> str:
    # SageMaker lower-cases resource names inside ARNs.
    return arn(f"pipeline/{pipeline_name.lower()}")


def execution_arn(pipeline_name: str, execution_suffix: str) -> str:
    return f"{pipeline_arn(pipeline_name)}/execution/{execution_suffix}"


def model_package_arn(group: str, version: int) -> str:
    return arn(f"model-package/{group.lower()}/{version}")


def endpoint_arn(endpoint_name: str) -> str:
    return arn(f"endpoint/{endpoint_name.lower()}")


def iso(moment: datetime) -> str:
    """EventBridge's time format: UTC, second precision, ``Z`` suffix."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_ms(moment: datetime) -> float:
    return float(round(moment.timestamp() * 1000))


def envelope(
    detail_type: str, resources: Sequence[str], detail: Mapping[str, Any], at: datetime | None = None
) -> PlatformEvent:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": EVENT_SOURCE,
        "account": ACCOUNT,
        "time": iso(at or SYSTEM_CLOCK.now()),
        "region": REGION,
        "resources": list(resources),
        "detail": dict(detail),
    }


def execution_status_event(
    *,
    pipeline_name: str,
    execution_id: str,
    display_name: str,
    current: ExecutionStatus,
    previous: ExecutionStatus | None,
    started_at: datetime,
    ended_at: datetime | None = None,
    failure_reason: str | None = None,
    description: str = "",
    at: datetime | None = None,
) -> PlatformEvent:
    detail: dict[str, Any] = {
        "pipelineExecutionDisplayName": display_name,
        "currentPipelineExecutionStatus": str(current),
        "executionStartTime": iso(started_at),
        "pipelineExecutionDescription": description,
        "pipelineArn": pipeline_arn(pipeline_name),
        "pipelineExecutionArn": execution_id,
    }
    if previous is not None:
        detail["previousPipelineExecutionStatus"] = str(previous)
    if ended_at is not None:
        detail["executionEndTime"] = iso(ended_at)
    if failure_reason:
        detail["failureReason"] = failure_reason
    return envelope(DT_EXECUTION, [pipeline_arn(pipeline_name), execution_id], detail, at)


def step_status_event(
    *,
    pipeline_name: str,
    execution_id: str,
    step_name: str,
    current: StepStatus,
    previous: StepStatus | None,
    started_at: datetime | None,
    ended_at: datetime | None = None,
    failure_reason: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> PlatformEvent:
    detail: dict[str, Any] = {
        "metadata": dict(metadata or {}),
        "stepName": step_name,
        "stepType": STEP_TYPES.get(step_name, "Processing"),
        "currentStepStatus": str(current),
        "pipelineArn": pipeline_arn(pipeline_name),
        "pipelineExecutionArn": execution_id,
    }
    if previous is not None:
        detail["previousStepStatus"] = str(previous)
    if started_at is not None:
        detail["stepStartTime"] = iso(started_at)
    if ended_at is not None:
        detail["stepEndTime"] = iso(ended_at)
    if failure_reason:
        detail["failureReason"] = failure_reason
    return envelope(DT_STEP, [pipeline_arn(pipeline_name), execution_id], detail, at)


def model_package_event(
    *,
    group: str,
    version: int,
    approval_status: ApprovalStatus,
    created_at: datetime,
    modified_at: datetime,
    approval_description: str | None,
    model_data_url: str,
    evaluation_uri: str,
    generated_by: str | None,
    customer_metadata: Mapping[str, str],
    updated_fields: Sequence[str] = (),
    life_cycle: Mapping[str, str] | None = None,
) -> PlatformEvent:
    package_arn = model_package_arn(group, version)
    detail: dict[str, Any] = {
        "ModelPackageGroupName": group,
        "ModelPackageVersion": version,
        "ModelPackageArn": package_arn,
        "CreationTime": iso(created_at),
        "InferenceSpecification": {
            "Containers": [{"Image": "local/xgboost", "ModelDataUrl": model_data_url}],
            "SupportedContentTypes": ["text/csv", "application/json"],
            "SupportedResponseMIMETypes": ["text/csv", "application/json"],
        },
        "ModelPackageStatus": "Completed",
        "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
        "CertifyForMarketplace": False,
        "ModelApprovalStatus": str(approval_status),
        "ModelMetrics": {
            "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": evaluation_uri}}
        },
        "CustomerMetadataProperties": dict(customer_metadata),
        "LastModifiedTime": iso(modified_at),
    }
    if approval_description:
        detail["ApprovalDescription"] = approval_description
    if generated_by:
        detail["MetadataProperties"] = {"GeneratedBy": generated_by}
    if updated_fields:
        detail["UpdatedModelPackageFields"] = list(updated_fields)
    if life_cycle:
        detail["ModelLifeCycle"] = dict(life_cycle)
    return envelope(DT_MODEL_PACKAGE, [package_arn], detail, modified_at)


_EVENT_ENDPOINT_STATUS: Mapping[EndpointStatus, str] = {
    EndpointStatus.CREATING: "CREATING",
    EndpointStatus.UPDATING: "UPDATING",
    EndpointStatus.IN_SERVICE: "IN_SERVICE",
    EndpointStatus.ROLLING_BACK: "ROLLING_BACK",
    EndpointStatus.FAILED: "FAILED",
    EndpointStatus.OUT_OF_SERVICE: "OUT_OF_SERVICE",
}


def endpoint_status_to_event(status: EndpointStatus) -> str:
    return _EVENT_ENDPOINT_STATUS[status]


def endpoint_detail(
    *,
    endpoint_name: str,
    config_name: str,
    status: EndpointStatus,
    created_at: datetime,
    modified_at: datetime,
    variants: Sequence[Mapping[str, Any]],
    failure_reason: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The endpoint part of both endpoint event kinds (state and deployment state changes)."""
    detail: dict[str, Any] = {
        "EndpointName": endpoint_name,
        "EndpointArn": endpoint_arn(endpoint_name),
        "EndpointConfigName": config_name,
        "ProductionVariants": [dict(v) for v in variants],
        "EndpointStatus": endpoint_status_to_event(status),
        "CreationTime": epoch_ms(created_at),
        "LastModifiedTime": epoch_ms(modified_at),
        "Tags": dict(tags or {}),
    }
    if failure_reason:
        detail["FailureReason"] = failure_reason
    return detail


def endpoint_state_event(
    *,
    endpoint_name: str,
    config_name: str,
    status: EndpointStatus,
    created_at: datetime,
    modified_at: datetime,
    failure_reason: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> PlatformEvent:
    detail = endpoint_detail(
        endpoint_name=endpoint_name,
        config_name=config_name,
        status=status,
        created_at=created_at,
        modified_at=modified_at,
        variants=[{"VariantName": "AllTraffic", "DesiredWeight": 1.0, "DesiredInstanceCount": 1.0}],
        failure_reason=failure_reason,
        tags=tags,
    )
    return envelope(DT_ENDPOINT, [detail["EndpointArn"]], detail, modified_at)


class EventBus:
    """Delivers events to listeners, in publication order, on one dispatcher thread.

    Publishing never blocks on a listener, a slow or failing listener never stalls a pipeline run, and a
    listener may call back into the platform without deadlocking against the thread that published.
    """

    def __init__(self) -> None:
        self._listeners: list[EventListener] = []
        self._lock = threading.Lock()
        self._queue: queue.Queue[PlatformEvent | None] = queue.Queue()
        self._idle = threading.Condition()
        self._pending = 0
        self._closed = False
        self._thread = threading.Thread(target=self._dispatch, name="ml-local-events", daemon=True)
        self._thread.start()

    def subscribe(self, listener: EventListener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def publish(self, event: PlatformEvent) -> None:
        with self._idle:
            if self._closed:
                log.debug("event bus closed; dropping %s", event["detail-type"])
                return
            self._pending += 1
        self._queue.put(event)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every event published so far has been delivered; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what is queued, then stop the dispatcher."""
        with self._idle:
            if self._closed:
                return
            self._closed = True
        self._queue.put(None)
        self._thread.join(timeout)

    def _dispatch(self) -> None:
        consume(self._queue, self._deliver)

    def _deliver(self, event: PlatformEvent) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                log.exception("event listener %r failed on %s", listener, event.get("detail-type"))
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()
