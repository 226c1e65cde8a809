"""Parsing and normalising EventBridge events as AWS sends them, quirks included."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.ingest.eventbridge import (
    AlarmChange,
    EndpointChange,
    EndpointDeploymentChange,
    EventError,
    EventFilter,
    JobChange,
    ModelPackageChange,
    PipelineExecutionChange,
    PipelineStepChange,
    normalise,
    parse_body,
    parse_envelope,
    parse_time,
    to_int,
)
from ml.platform import ApprovalStatus, EndpointStatus, ExecutionStatus, StepStatus

from .conftest import fixture

RULES = EventFilter(
    pipeline_name="mlops-xgboost-pipeline",
    model_package_group="mlops-xgboost",
    endpoints={"mlops-xgboost-staging": "staging", "mlops-xgboost-production": "production"},
    alarm_names=frozenset({"mlops-xgboost-latency"}),
)


def change_of(event: dict[str, Any]) -> Any:
    return normalise(parse_envelope(event))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-20T09:41:07Z", datetime(2026, 11, 20, 9, 41, 7, tzinfo=UTC)),
        ("2026-11-20T09:41:07.125+0000", datetime(2026, 11, 20, 9, 41, 7, 125000, tzinfo=UTC)),
        ("2026-11-20T10:41:07+01:00", datetime(2026, 11, 20, 9, 41, 7, tzinfo=UTC)),
        ("2026-11-20T09:41:07", datetime(2026, 11, 20, 9, 41, 7, tzinfo=UTC)),
        (1763631667000, datetime(2025, 11, 20, 9, 41, 7, tzinfo=UTC)),
        (1763631667000.0, datetime(2025, 11, 20, 9, 41, 7, tzinfo=UTC)),
        ("1763631667000", datetime(2025, 11, 20, 9, 41, 7, tzinfo=UTC)),
        ("1763631667", datetime(2025, 11, 20, 9, 41, 7, tzinfo=UTC)),
        (1763631667, datetime(2025, 11, 20, 9, 41, 7, tzinfo=UTC)),
        (None, None),
        ("", None),
    ],
)
def test_times_in_every_format(value: Any, expected: datetime | None) -> None:
    assert parse_time(value) == expected


@pytest.mark.parametrize("value", ["yesterday", "2026-13-40T00:00:00Z", -5, float("nan"), [1]])
def test_unreadable_times_are_refused(value: Any) -> None:
    with pytest.raises(EventError, match="unreadable time"):
        parse_time(value)


def test_numbers_as_strings() -> None:
    assert to_int("3", "v") == 3
    assert to_int(3.0, "v") == 3
    assert to_int(None, "v") is None
    with pytest.raises(EventError, match="whole number"):
        to_int("3.5", "ModelPackageVersion")
    with pytest.raises(EventError, match="must be a number"):
        to_int("three", "ModelPackageVersion")
    with pytest.raises(EventError, match="must be a number"):
        to_int(True, "ModelPackageVersion")


def test_pipeline_execution() -> None:
    change = change_of(fixture("eb_pipeline_execution_failed.json"))
    assert isinstance(change, PipelineExecutionChange)
    assert change.pipeline_name == "mlops-xgboost-pipeline"
    assert change.execution_id == "k2v9d0q7wz1m"
    assert change.status is ExecutionStatus.FAILED
    assert change.previous_status is ExecutionStatus.EXECUTING
    assert change.started_at == datetime(2026, 11, 20, 9, 15, tzinfo=UTC)
    assert change.failure_reason == "Step failure: One or multiple steps failed."
    assert RULES.relevant(change)


def test_pipeline_execution_without_optional_fields() -> None:
    event = fixture("eb_pipeline_execution_failed.json")
    for name in (
        "executionEndTime",
        "failureReason",
        "previousPipelineExecutionStatus",
        "pipelineExecutionDisplayName",
        "pipelineArn",
        "pipelineExecutionDescription",
    ):
        del event["detail"][name]
    event["detail"]["currentPipelineExecutionStatus"] = "Executing"
    change = change_of(event)
    assert isinstance(change, PipelineExecutionChange)
    assert change.status is ExecutionStatus.EXECUTING
    assert (change.ended_at, change.failure_reason, change.previous_status) == (None, None, None)
    # the pipeline is read from the execution ARN when pipelineArn is missing
    assert change.pipeline_name == "mlops-xgboost-pipeline"


def test_step_failure_and_unknown_future_status() -> None:
    change = change_of(fixture("eb_pipeline_step_failed.json"))
    assert isinstance(change, PipelineStepChange)
    assert (change.step_name, change.status, change.step_type) == (
        "TrainModel",
        StepStatus.FAILED,
        "Training",
    )
    assert change.failure_reason is not None and "out of memory" in change.failure_reason
    assert change.job_arn is not None and change.job_arn.endswith("trainmodel-x8QpZ1")

    event = fixture("eb_pipeline_step_failed.json")
    event["detail"]["currentStepStatus"] = "Retrying"  # a status this code does not know yet
    assert change_of(event).status == "Retrying"


def test_model_package_with_version_as_string_and_epoch_ms_time() -> None:
    change = change_of(fixture("eb_model_package_approved.json"))
    assert isinstance(change, ModelPackageChange)
    assert change.version == 3
    assert change.approval_status is ApprovalStatus.APPROVED
    assert change.created_at == datetime.fromtimestamp(1763632950, UTC)
    assert change.modified_at == datetime(2026, 11, 20, 10, 2, 32, 417000, tzinfo=UTC)
    assert change.generated_by is not None and change.generated_by.endswith("/execution/k2v9d0q7wz1m")
    assert RULES.relevant(change)


def test_model_package_version_from_arn_when_missing_and_extra_fields() -> None:
    event = fixture("eb_model_package_approved.json")
    del event["detail"]["ModelPackageVersion"]
    event["detail"]["SomethingAddedNextYear"] = {"nested": [1, 2]}
    event["brandNewTopLevelField"] = True
    change = change_of(event)
    assert isinstance(change, ModelPackageChange)
    assert change.version == 3


def test_model_package_of_another_group_is_filtered() -> None:
    event = fixture("eb_model_package_approved.json")
    event["detail"]["ModelPackageGroupName"] = "fraud-model"
    assert not RULES.relevant(change_of(event))


def test_endpoint_state_with_epoch_ms_envelope_time() -> None:
    event = fixture("eb_endpoint_in_service.json")
    env = parse_envelope(event)
    assert env.time == datetime.fromtimestamp(1763633101, UTC)
    change = normalise(env)
    assert isinstance(change, EndpointChange)
    assert change.status is EndpointStatus.IN_SERVICE
    assert change.raw_status == "IN_SERVICE"
    assert change.modified_at == datetime.fromtimestamp(1763633100.512, UTC)
    assert RULES.environment_of(change.endpoint_name) == "staging"
    assert RULES.relevant(change)


def test_endpoint_status_in_api_spelling() -> None:
    event = fixture("eb_endpoint_in_service.json")
    event["detail"]["EndpointStatus"] = "InService"
    assert change_of(event).status is EndpointStatus.IN_SERVICE


def test_endpoint_names_compare_case_insensitively_and_others_are_filtered() -> None:
    event = fixture("eb_endpoint_in_service.json")
    event["detail"]["EndpointName"] = "MLOPS-XGBOOST-STAGING"
    assert RULES.relevant(change_of(event))
    event["detail"]["EndpointName"] = "someone-elses-endpoint"
    assert not RULES.relevant(change_of(event))


def test_deployment_rolling_back_is_a_failure() -> None:
    change = change_of(fixture("eb_endpoint_deployment_failed.json"))
    assert isinstance(change, EndpointDeploymentChange)
    assert change.failed
    assert change.status is EndpointStatus.ROLLING_BACK
    assert change.pending_config_name == "mlops-xgboost-production-v3-20261120111000"
    assert change.stage_messages and change.stage_messages[0].startswith("Baking for 600 seconds")
    assert change.modified_at == datetime.fromtimestamp(1763637645, UTC)


def test_deployment_in_progress_is_not_a_failure() -> None:
    event = fixture("eb_endpoint_deployment_failed.json")
    event["detail"]["EndpointStatus"] = "UPDATING"
    del event["detail"]["FailureReason"]
    change = change_of(event)
    assert isinstance(change, EndpointDeploymentChange)
    assert not change.failed


def test_jobs_are_ours_only_when_tagged_with_our_pipeline() -> None:
    training = change_of(fixture("eb_training_job_failed.json"))
    assert isinstance(training, JobChange)
    assert (training.kind, training.status) == ("training", "Failed")
    assert training.started_at == datetime.fromtimestamp(1763630650, UTC)
    assert RULES.relevant(training)

    processing = change_of(fixture("eb_processing_job_completed.json"))
    assert isinstance(processing, JobChange)
    assert processing.tags["sagemaker:pipeline-execution-arn"].endswith("k2v9d0q7wz1m")  # list-style tags
    assert RULES.relevant(processing)

    untagged = fixture("eb_training_job_failed.json")
    untagged["detail"]["Tags"] = {}
    assert not RULES.relevant(change_of(untagged))


def test_alarm() -> None:
    change = change_of(fixture("eb_alarm_production_5xx.json"))
    assert isinstance(change, AlarmChange)
    assert change.firing
    assert change.at == datetime(2026, 11, 20, 12, 5, 40, 125000, tzinfo=UTC)
    assert change.endpoints == ("mlops-xgboost-production",)
    assert change.metrics == ("AWS/SageMaker Invocation5XXErrors",)
    # not in the configured names, but it watches the production endpoint
    assert RULES.production_alarm(change)


def test_alarm_by_name_and_unrelated_alarms() -> None:
    event = fixture("eb_alarm_production_5xx.json")
    event["detail"]["alarmName"] = "mlops-xgboost-latency"
    event["detail"]["configuration"]["metrics"] = []
    assert RULES.relevant(change_of(event))
    event["detail"]["alarmName"] = "billing-over-budget"
    assert not RULES.relevant(change_of(event))
    staging = fixture("eb_alarm_production_5xx.json")
    staging["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"]["EndpointName"] = (
        "mlops-xgboost-staging"
    )
    assert not RULES.relevant(change_of(staging))


def test_unknown_detail_types_and_sources_are_not_normalised() -> None:
    event = fixture("eb_endpoint_in_service.json")
    event["detail-type"] = "SageMaker Feature Group State Change"
    assert normalise(parse_envelope(event)) is None
    event = fixture("eb_alarm_production_5xx.json")
    event["source"] = "aws.ec2"
    assert normalise(parse_envelope(event)) is None


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda e: e.pop("id"), "lacks id"),
        (lambda e: e.pop("detail-type"), "lacks detail-type"),
        (lambda e: e.update(detail=[1]), "detail must be a JSON object"),
        (lambda e: e.update(detail="{not json"), "detail is not JSON"),
        (lambda e: e.update(resources="arn"), "resources must be a list"),
        (lambda e: e["detail"].pop("pipelineExecutionArn"), "no pipelineExecutionArn"),
        (lambda e: e["detail"].pop("currentPipelineExecutionStatus"), "no currentPipelineExecutionStatus"),
    ],
)
def test_malformed_events(mutate: Any, message: str) -> None:
    event = fixture("eb_pipeline_execution_failed.json")
    mutate(event)
    with pytest.raises(EventError, match=message):
        normalise(parse_envelope(event))


def test_detail_forwarded_as_a_json_string() -> None:
    import json

    event = fixture("eb_pipeline_step_failed.json")
    event["detail"] = json.dumps(event["detail"])
    assert isinstance(change_of(event), PipelineStepChange)


def test_body_is_one_event_or_a_list() -> None:
    assert len(parse_body(b'{"id": "x"}')) == 1
    assert len(parse_body(b'[{"id": "x"}, {"id": "y"}]')) == 2
    with pytest.raises(EventError, match="not JSON"):
        parse_body(b"{oops")
    with pytest.raises(EventError, match="empty list"):
        parse_body(b"[]")
    with pytest.raises(EventError, match="an event must be a JSON object"):
        parse_envelope("just a string")
