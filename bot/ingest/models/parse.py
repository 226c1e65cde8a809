"""The one way in: raw EventBridge events to typed models, with a clear reason for each refusal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from .alarm import AlarmStateChange
from .endpoint import EndpointStateChange
from .endpoint_deployment import EndpointDeploymentStateChange
from .envelope import EventBridgeEvent, parse_body
from .fields import EventError
from .jobs import ProcessingJobStateChange, TrainingJobStateChange
from .model_package import ModelPackageStateChange
from .pipeline_execution import PipelineExecutionStatusChange
from .pipeline_step import PipelineStepStatusChange

#: Every event this package understands; anything else parses as a plain ``EventBridgeEvent``.
PlatformChange = (
    PipelineExecutionStatusChange
    | PipelineStepStatusChange
    | ModelPackageStateChange
    | EndpointStateChange
    | EndpointDeploymentStateChange
    | TrainingJobStateChange
    | ProcessingJobStateChange
    | AlarmStateChange
)

MODELS: Mapping[tuple[str, str], type[EventBridgeEvent]] = {
    (m.SOURCE or "", m.DETAIL_TYPE or ""): m
    for m in (
        PipelineExecutionStatusChange,
        PipelineStepStatusChange,
        ModelPackageStateChange,
        EndpointStateChange,
        EndpointDeploymentStateChange,
        TrainingJobStateChange,
        ProcessingJobStateChange,
        AlarmStateChange,
    )
}

#: What this package understands, by source (the stack's EventBridge rules must match it).
KNOWN_DETAIL_TYPES: Mapping[str, frozenset[str]] = {
    source: frozenset(dt for s, dt in MODELS if s == source) for source in {s for s, _ in MODELS}
}


def parse(raw: Any) -> EventBridgeEvent:
    """One event as its typed model, or as a plain envelope when its detail-type is not modelled.

    Raises ``EventError`` saying what is wrong: a broken envelope, or a missing or unreadable
    key field of a modelled detail-type.
    """
    model = EventBridgeEvent
    if isinstance(raw, Mapping):
        model = MODELS.get((str(raw.get("source")), str(raw.get("detail-type"))), EventBridgeEvent)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise _refusal(exc, raw) from None


def parse_batch(body: bytes) -> list[EventBridgeEvent]:
    """The events of a request body, all or nothing: a batch with a bad entry is refused whole."""
    return [parse(event) for event in parse_body(body)]


def _refusal(exc: ValidationError, raw: Any) -> EventError:
    """The first problem, in the event's own terms: ``'<detail-type>' event has no <Field>``."""
    error = exc.errors()[0]
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, EventError):
        return cause
    detail_type = raw.get("detail-type") if isinstance(raw, Mapping) else None
    loc = [str(p) for p in error["loc"] if not isinstance(p, int)]
    field = ".".join(loc[1:] if loc[:1] == ["detail"] else loc)
    if error["type"] == "missing" or error.get("input") in (None, ""):
        return EventError(f"{detail_type!r} event has no {field}")
    if isinstance(cause, Exception):
        return EventError(f"{detail_type!r} event: {cause}")
    return EventError(f"{detail_type!r} event: {field}: {error['msg']}")
