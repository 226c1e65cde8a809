"""Parsing and normalising EventBridge events as AWS sends them, quirks included."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.ingest.eventbridge import EventFilter
from bot.ingest.models import (
    AlarmStateChange,
    EndpointDeploymentStateChange,
    EndpointStateChange,
    EventBridgeEvent,
    EventError,
    ModelPackageStateChange,
    PipelineExecutionStatusChange,
    PipelineStepStatusChange,
    ProcessingJobStateChange,
    TrainingJobStateChange,
    parse,
    parse_batch,
    parse_body,
    parse_time,
    to_int,
)
from ml.platform import ApprovalStatus, EndpointStatus, ExecutionStatus, StepStatus
from tests.handlers.events.conftest import fixture

RULES = EventFilter(
    pipeline_name="mlops-xgboost-pipeline",
    model_package_group="mlops-xgboost",
    endpoints={"mlops-xgboost-staging": "staging", "mlops-xgboost-production": "production"},
    alarm_names=frozenset({"mlops-xgboost-latency"}),
)


def change_of(event: dict[str, Any]) -> Any:
    return parse(event)


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
    assert isinstance(change, PipelineExecutionStatusChange)
    detail = change.detail
    assert detail.pipeline_name == "mlops-xgboost-pipeline"
    assert detail.execution_id == "k2v9d0q7wz1m"
    assert detail.status is ExecutionStatus.FAILED
    assert detail.previous_status is ExecutionStatus.EXECUTING
    assert detail.started_at == datetime(2026, 11, 20, 9, 15, tzinfo=UTC)
    assert detail.failure_reason == "Step failure: One or multiple steps failed."
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
    assert isinstance(change, PipelineExecutionStatusChange)
    detail = change.detail
    assert detail.status is ExecutionStatus.EXECUTING
    assert (detail.ended_at, detail.failure_reason, detail.previous_status) == (None, None, None)
    # the pipeline is read from the execution ARN when pipelineArn is missing
    assert detail.pipeline_name == "mlops-xgboost-pipeline"


def test_step_failure_and_unknown_future_status() -> None:
    event = change_of(fixture("eb_pipeline_step_failed.json"))
    assert isinstance(event, PipelineStepStatusChange)
    change = event.detail
    assert (change.step_name, change.status, change.step_type) == (
        "TrainModel",
        StepStatus.FAILED,
        "Training",
    )
    assert change.failure_reason is not None and "out of memory" in change.failure_reason
    assert change.job_arn is not None and change.job_arn.endswith("trainmodel-x8QpZ1")

    event = fixture("eb_pipeline_step_failed.json")
    event["detail"]["currentStepStatus"] = "Retrying"  # a status this code does not know yet
    assert change_of(event).detail.status == "Retrying"


def test_model_package_with_version_as_string_and_epoch_ms_time() -> None:
    event = change_of(fixture("eb_model_package_approved.json"))
    assert isinstance(event, ModelPackageStateChange)
    change = event.detail
    assert change.version == 3
    assert change.approval_status is ApprovalStatus.APPROVED
    assert change.created_at == datetime.fromtimestamp(1763632950, UTC)
    assert change.modified_at == datetime(2026, 11, 20, 10, 2, 32, 417000, tzinfo=UTC)
    assert change.generated_by is not None and change.generated_by.endswith("/execution/k2v9d0q7wz1m")
    assert RULES.relevant(event)


def test_model_package_version_from_arn_when_missing_and_extra_fields() -> None:
    event = fixture("eb_model_package_approved.json")
    del event["detail"]["ModelPackageVersion"]
    event["detail"]["SomethingAddedNextYear"] = {"nested": [1, 2]}
    event["brandNewTopLevelField"] = True
    change = change_of(event)
    assert isinstance(change, ModelPackageStateChange)
    assert change.detail.version == 3
    # neither version nor ARN in the detail: the ARN among the event's resources names the version
    del event["detail"]["ModelPackageArn"]
    assert change_of(event).detail.arn.endswith("model-package/mlops-xgboost/3")
    assert change_of(event).detail.version == 3


def test_model_package_of_another_group_is_filtered() -> None:
    event = fixture("eb_model_package_approved.json")
    event["detail"]["ModelPackageGroupName"] = "fraud-model"
    assert not RULES.relevant(change_of(event))


def test_endpoint_state_with_epoch_ms_envelope_time() -> None:
    event = fixture("eb_endpoint_in_service.json")
    parsed = parse(event)
    assert parsed.time == datetime.fromtimestamp(1763633101, UTC)
    assert isinstance(parsed, EndpointStateChange)
    change = parsed.detail
    assert change.status is EndpointStatus.IN_SERVICE
    assert change.raw_status == "IN_SERVICE"
    assert change.modified_at == datetime.fromtimestamp(1763633100.512, UTC)
    assert RULES.environment_of(change.endpoint_name) == "staging"
    assert RULES.relevant(parsed)


def test_endpoint_status_in_api_spelling() -> None:
    event = fixture("eb_endpoint_in_service.json")
    event["detail"]["EndpointStatus"] = "InService"
    assert change_of(event).detail.status is EndpointStatus.IN_SERVICE


def test_endpoint_names_compare_case_insensitively_and_others_are_filtered() -> None:
    event = fixture("eb_endpoint_in_service.json")
    event["detail"]["EndpointName"] = "MLOPS-XGBOOST-STAGING"
    assert RULES.relevant(change_of(event))
    event["detail"]["EndpointName"] = "someone-elses-endpoint"
    assert not RULES.relevant(change_of(event))


def test_deployment_rolling_back_is_a_failure() -> None:
    event = change_of(fixture("eb_endpoint_deployment_failed.json"))
    assert isinstance(event, EndpointDeploymentStateChange)
    change = event.detail
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
    assert isinstance(change, EndpointDeploymentStateChange)
    assert not change.detail.failed


def test_jobs_are_ours_only_when_tagged_with_our_pipeline() -> None:
    training = change_of(fixture("eb_training_job_failed.json"))
    assert isinstance(training, TrainingJobStateChange)
    assert (training.detail.kind, training.detail.status) == ("training", "Failed")
    assert training.detail.started_at == datetime.fromtimestamp(1763630650, UTC)
    assert RULES.relevant(training)

    processing = change_of(fixture("eb_processing_job_completed.json"))
    assert isinstance(processing, ProcessingJobStateChange)
    assert processing.detail.tags["sagemaker:pipeline-execution-arn"].endswith(
        "k2v9d0q7wz1m"
    )  # list-style tags
    assert RULES.relevant(processing)

    untagged = fixture("eb_training_job_failed.json")
    untagged["detail"]["Tags"] = {}
    assert not RULES.relevant(change_of(untagged))


def test_alarm() -> None:
    change = change_of(fixture("eb_alarm_production_5xx.json"))
    assert isinstance(change, AlarmStateChange)
    assert change.firing
    assert change.at == datetime(2026, 11, 20, 12, 5, 40, 125000, tzinfo=UTC)
    assert change.detail.endpoints == ("mlops-xgboost-production",)
    assert change.detail.metric_labels == ("AWS/SageMaker Invocation5XXErrors",)
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
    parsed = parse(event)
    assert type(parsed) is EventBridgeEvent and not parsed.known
    assert parsed.detail["EndpointName"] == "mlops-xgboost-staging"  # kept, untyped
    event = fixture("eb_alarm_production_5xx.json")
    event["source"] = "aws.ec2"
    assert not parse(event).known


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
        parse(event)


def test_detail_forwarded_as_a_json_string() -> None:
    event = fixture("eb_pipeline_step_failed.json")
    event["detail"] = json.dumps(event["detail"])
    assert isinstance(change_of(event), PipelineStepStatusChange)


def test_body_is_one_event_or_a_list() -> None:
    assert len(parse_body(b'{"id": "x"}')) == 1
    assert len(parse_body(b'[{"id": "x"}, {"id": "y"}]')) == 2
    with pytest.raises(EventError, match="not JSON"):
        parse_body(b"{oops")
    with pytest.raises(EventError, match="empty list"):
        parse_body(b"[]")
    with pytest.raises(EventError, match="an event must be a JSON object"):
        parse("just a string")


def test_a_batch_is_refused_whole_for_one_bad_entry() -> None:
    good, bad = fixture("eb_pipeline_execution_failed.json"), fixture("eb_model_package_approved.json")
    bad["detail"]["ModelPackageVersion"] = "3.5"
    assert [e.id for e in parse_batch(json.dumps([good]).encode())] == [good["id"]]
    with pytest.raises(EventError, match="whole number"):
        parse_batch(json.dumps([good, bad]).encode())


def test_odd_optional_parts_are_dropped_not_fatal() -> None:
    event = fixture("eb_endpoint_deployment_failed.json")
    event["detail"]["PendingDeploymentSummary"] = "unexpected"
    event["detail"]["ProductionVariants"] = [7, {"VariantName": "AllTraffic", "VariantStatus": "x"}]
    event["time"] = "not a time"
    change = parse(event)
    assert isinstance(change, EndpointDeploymentStateChange)
    assert (change.time, change.detail.pending_config_name, change.detail.stage_messages) == (None, None, ())
    assert change.detail.failed  # still ROLLING_BACK


def test_model_life_cycle_of_a_package_event() -> None:
    event = fixture("eb_model_package_approved.json")
    event["detail"]["ModelLifeCycle"] = {"Stage": "Production", "StageStatus": "Approved"}
    change = parse(event)
    assert isinstance(change, ModelPackageStateChange)
    life = change.detail.life_cycle
    assert life is not None and (life.stage, life.stage_status, life.stage_description) == (
        "Production",
        "Approved",
        None,
    )


@pytest.mark.parametrize(
    ("fixture_name", "field", "message"),
    [
        ("eb_alarm_production_5xx.json", "alarmName", "no alarmName"),
        ("eb_pipeline_step_failed.json", "stepName", "no stepName"),
        ("eb_training_job_failed.json", "TrainingJobStatus", "no TrainingJobStatus"),
        ("eb_endpoint_in_service.json", "EndpointName", None),  # the name is read from EndpointArn
    ],
)
def test_key_fields_are_named_in_refusals(fixture_name: str, field: str, message: str | None) -> None:
    event = fixture(fixture_name)
    del event["detail"][field]
    if message is None:
        assert parse(event).detail.endpoint_name == "mlops-xgboost-staging"
        del event["detail"]["EndpointArn"]
        message = "no EndpointName"
    with pytest.raises(EventError, match=message):
        parse(event)
