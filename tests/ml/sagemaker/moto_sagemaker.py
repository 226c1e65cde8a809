"""moto 5.2.5 made fit for the SageMaker platform: missing operations, state to seed, requests to inspect.

``install()`` adds to ``moto.sagemaker.responses.SageMakerResponse``:

* ``UpdateEndpoint`` that really switches the endpoint's config in the backend (or, when armed with
  ``arm_update_rollback``, leaves it ``InService`` on the old one as an alarm-triggered rollback does,
  optionally putting the alarm in ALARM through CloudWatch first), and records each request for
  ``update_endpoint_requests``; ``DescribeEndpoint`` then carries ``LastDeploymentConfig``;
* ``UpdateEndpointWeightsAndCapacities`` that keeps instance counts (moto's blanks them), recorded for
  ``weight_update_requests``; variant weights of 0 as configured (moto drops them);
* ``seed_pending_update``: an update in flight, with ``PendingDeploymentSummary`` in DescribeEndpoint;
* CloudWatch ``DescribeAlarmHistory`` (state updates), read from the state changes moto's alarms keep,
  and percentile statistics (``p99``) in ``GetMetricData``;
* ``ListPipelineExecutionSteps`` over steps seeded with ``seed_execution``, and ``StopPipelineExecution``;
* ``CreateMonitoringSchedule`` / ``DescribeMonitoringSchedule`` (recorded only);
* tags on pipeline executions, which moto's ``AddTags`` cannot parse;
* ``ListPipelineExecutions`` sorted as asked, and failure reasons in ``DescribePipelineExecution``;
* ``hold_endpoint_status``: make the next describes of an endpoint report a transitional status;
* ``UpdateModelPackage`` with ``ModelLifeCycle`` (kept on the package, returned by
  ``DescribeModelPackage``), leaving the approval alone when the request does not name it as SageMaker
  does; each request is recorded for ``update_model_package_requests``.

It works in process (``mock_aws``) and behind ``ThreadedMotoServer``, which shares the same backends.
``register_model_package`` registers a version the way the pipeline's RegisterModel step does.
"""

from __future__ import annotations

import itertools
import json
import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.cloudwatch.models import Statistics, cloudwatch_backends
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import FakeEndpoint, SageMakerModelBackend, sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse
from moto.sagemaker.utils import get_pipeline_execution_from_arn

DEFAULT_ACCOUNT_ID = "123456789012"  # moto's account
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
_TERMINAL = ("Succeeded", "Failed", "Stopped")


# -- backend state -----------------------------------------------------------------------------------
def backend(region: str = "us-east-1", account_id: str = DEFAULT_ACCOUNT_ID) -> SageMakerModelBackend:
    return sagemaker_backends[account_id][region]


def _extra(sm: SageMakerModelBackend) -> dict[str, Any]:
    # Kept on the backend object, so mock_aws's reset between tests clears it too.
    state: dict[str, Any] | None = getattr(sm, "_mlops_test_state", None)
    if state is None:
        state = {
            "updates": [],
            "rollback_next": {},
            "schedules": {},
            "hold": {},
            "execution_tags": {},
            "failures": {},
            "package_updates": [],
            "weight_updates": [],
            "pending": {},
        }
        sm._mlops_test_state = state  # type: ignore[attr-defined]
    return state


def update_endpoint_requests(region: str = "us-east-1") -> list[dict[str, Any]]:
    """Every UpdateEndpoint request received, oldest first, as sent."""
    return list(_extra(backend(region))["updates"])


def weight_update_requests(region: str = "us-east-1") -> list[dict[str, Any]]:
    """Every UpdateEndpointWeightsAndCapacities request received, oldest first."""
    return list(_extra(backend(region))["weight_updates"])


def seed_pending_update(
    endpoint: str,
    config_name: str,
    statuses: Iterable[tuple[str, datetime]],
    *,
    deployment_config: Mapping[str, Any],
    started_at: datetime,
    region: str = "us-east-1",
) -> None:
    """Leave ``endpoint`` Updating towards ``config_name``, as a blue/green update in flight reports
    itself: ``PendingDeploymentSummary`` with the new fleet's ``VariantStatus`` (status, since) entries."""
    sm = backend(region)
    config = sm.describe_endpoint_config(config_name)
    variants = [
        {
            "VariantName": variant["VariantName"],
            "CurrentWeight": float(variant.get("InitialVariantWeight", 1.0)),
            "DesiredWeight": float(variant.get("InitialVariantWeight", 1.0)),
            "CurrentInstanceCount": variant["InitialInstanceCount"],
            "DesiredInstanceCount": variant["InitialInstanceCount"],
            "InstanceType": variant["InstanceType"],
            "VariantStatus": [
                {"Status": status, "StartTime": since}
                for status, since in statuses
                if variant["VariantName"] == "AllTraffic"
            ],
        }
        for variant in config["ProductionVariants"]
    ]
    _extra(sm)["pending"][endpoint] = {
        "EndpointConfigName": config_name,
        "ProductionVariants": variants,
        "StartTime": started_at,
    }
    found = sm.endpoints[endpoint]
    found.endpoint_status = "Updating"
    found._mlops_last_deployment = dict(deployment_config)  # type: ignore[attr-defined]


def end_pending_update(endpoint: str, status: str = "InService", region: str = "us-east-1") -> None:
    sm = backend(region)
    _extra(sm)["pending"].pop(endpoint, None)
    sm.endpoints[endpoint].endpoint_status = status


def monitoring_schedules(region: str = "us-east-1") -> dict[str, dict[str, Any]]:
    return dict(_extra(backend(region))["schedules"])


def arm_update_rollback(
    endpoint: str, reason: str, region: str = "us-east-1", *, alarm: str | None = None
) -> None:
    """The next UpdateEndpoint on ``endpoint`` is accepted, then rolled back (as a CloudWatch alarm would).

    With ``alarm``, that CloudWatch alarm (which must exist) goes into ALARM during the update, as the
    alarm that made SageMaker roll back would.
    """
    _extra(backend(region))["rollback_next"][endpoint] = (reason, alarm)


def hold_endpoint_status(endpoint: str, status: str, polls: int, region: str = "us-east-1") -> None:
    """The next ``polls`` DescribeEndpoint calls on ``endpoint`` report ``status``."""
    _extra(backend(region))["hold"][endpoint] = [status, polls]


def inject_failure(
    operation: str,
    code: str,
    message: str,
    *,
    status: int = 400,
    times: int = 1,
    region: str = "us-east-1",
) -> None:
    """The next ``times`` calls of ``operation`` (e.g. "UpdateEndpoint") fail with this AWS error.

    Failures are answered by moto itself, so botocore's retries see them as they would from AWS.
    """
    _extra(backend(region))["failures"].setdefault(operation, []).extend([(code, message, status)] * times)


def update_model_package_requests(region: str = "us-east-1") -> list[dict[str, Any]]:
    """Every UpdateModelPackage request received, oldest first, as sent."""
    return list(_extra(backend(region))["package_updates"])


def injected_failures_left(operation: str, region: str = "us-east-1") -> int:
    return len(_extra(backend(region))["failures"].get(operation, []))


def step(
    name: str,
    status: str,
    *,
    started_at: datetime | None = None,
    failure_reason: str | None = None,
    model_package_arn: str | None = None,
) -> dict[str, Any]:
    """One ListPipelineExecutionSteps entry."""
    entry: dict[str, Any] = {
        "StepName": name,
        "StepStatus": status,
        "StartTime": started_at or utcnow(),
        "AttemptCount": 1,
        "Metadata": {},
    }
    if status in _TERMINAL:
        entry["EndTime"] = entry["StartTime"] + timedelta(seconds=30)
    if failure_reason:
        entry["FailureReason"] = failure_reason
    if model_package_arn:
        entry["Metadata"] = {"RegisterModel": {"Arn": model_package_arn}}
    return entry


def seed_execution(
    execution_arn: str,
    *,
    status: str,
    steps: Iterable[Mapping[str, Any]] = (),
    failure_reason: str | None = None,
    started_at: datetime | None = None,
    region: str = "us-east-1",
) -> None:
    """Give a started execution the status and steps a real run would have reached."""
    execution = get_pipeline_execution_from_arn(backend(region).pipelines, execution_arn)
    if started_at is not None:
        execution.start_time = execution.creation_time = started_at
    execution.pipeline_execution_status = status
    execution.pipeline_execution_failure_reason = failure_reason  # type: ignore[assignment]
    execution.last_modified_time = utcnow()
    execution._mlops_steps = [dict(s) for s in steps]  # type: ignore[attr-defined]


# -- added and corrected operations --------------------------------------------------------------------
def _update_endpoint(self: SageMakerResponse) -> ActionResult:
    sm = self.sagemaker_backend
    name = self._get_param("EndpointName")
    config_name = self._get_param("EndpointConfigName")
    endpoint = sm.endpoints.get(name)
    if endpoint is None:
        arn = FakeEndpoint.arn_formatter(name, sm.account_id, sm.region_name)
        raise ValidationError(message=f"Could not find endpoint '{arn}'.")
    config = sm.describe_endpoint_config(config_name)  # raises "Could not find endpoint configuration"
    if endpoint.endpoint_status != "InService":
        raise ValidationError(message=f"Cannot update in-progress endpoint '{endpoint.arn}'.")
    state = _extra(sm)
    state["updates"].append(
        {
            "EndpointName": name,
            "EndpointConfigName": config_name,
            "RetainAllVariantProperties": self._get_param("RetainAllVariantProperties"),
            "DeploymentConfig": self._get_param("DeploymentConfig"),
        }
    )
    if "ExcludeRetainedVariantProperties" in json.loads(self.body or "{}"):
        state["updates"][-1]["ExcludeRetainedVariantProperties"] = self._get_param(
            "ExcludeRetainedVariantProperties"
        )
    endpoint._mlops_last_deployment = self._get_param("DeploymentConfig")  # type: ignore[attr-defined]
    armed = state["rollback_next"].pop(name, None)
    if armed is not None:
        reason, alarm = armed
        if alarm is not None:
            cloudwatch_backends[sm.account_id][sm.region_name].set_alarm_state(
                alarm, f"Threshold Crossed during the update of {name}", "{}", "ALARM"
            )
        endpoint.failure_reason = reason
    else:
        previous = endpoint.production_variants
        endpoint.endpoint_config_name = config_name
        endpoint.production_variants = endpoint._process_production_variants(config["ProductionVariants"])
        _weights_as_configured(endpoint.production_variants, config["ProductionVariants"])
        if self._get_param("RetainAllVariantProperties"):
            by_name = {old["VariantName"]: old for old in previous}
            for variant in endpoint.production_variants:
                old = by_name.get(variant["VariantName"], {})
                for key in ("CurrentInstanceCount", "DesiredInstanceCount"):
                    if key in old:
                        variant[key] = old[key]
        endpoint.data_capture_config = config.get("DataCaptureConfig") or {}
        endpoint.failure_reason = None
    endpoint.last_modified_time = utcnow()
    return ActionResult({"EndpointArn": endpoint.arn})


def _weights_as_configured(variants: list[dict[str, Any]], configured: list[dict[str, Any]]) -> None:
    # moto drops an InitialVariantWeight of 0 (it tests the value for truth); SageMaker reports it.
    weights = {v["VariantName"]: float(v.get("InitialVariantWeight", 1.0)) for v in configured}
    for variant in variants:
        weight = weights.get(variant["VariantName"], 1.0)
        variant["CurrentWeight"] = variant["DesiredWeight"] = weight


def _update_endpoint_weights_and_capacities(self: SageMakerResponse) -> ActionResult:
    """Weights change at once; instance counts stay unless asked (moto's own blanks them)."""
    sm = self.sagemaker_backend
    name = self._get_param("EndpointName")
    desired = self._get_param("DesiredWeightsAndCapacities")
    _extra(sm)["weight_updates"].append({"EndpointName": name, "DesiredWeightsAndCapacities": desired})
    endpoint = sm.endpoints.get(name)
    if endpoint is None:
        arn = FakeEndpoint.arn_formatter(name, sm.account_id, sm.region_name)
        raise ValidationError(message=f"Could not find endpoint '{arn}'.")
    present = {v["VariantName"]: v for v in endpoint.production_variants}
    for entry in desired:
        variant = present.get(entry["VariantName"])
        if variant is None:
            raise ValidationError(message=f"The variant name {entry['VariantName']} is not present.")
        if "DesiredWeight" in entry:
            variant["CurrentWeight"] = variant["DesiredWeight"] = float(entry["DesiredWeight"])
        if "DesiredInstanceCount" in entry:
            variant["CurrentInstanceCount"] = variant["DesiredInstanceCount"] = entry["DesiredInstanceCount"]
    endpoint.last_modified_time = utcnow()
    return ActionResult({"EndpointArn": endpoint.arn})


def _describe_endpoint(self: SageMakerResponse) -> ActionResult:
    name = self._get_param("EndpointName")
    response = self.sagemaker_backend.describe_endpoint(name)
    pending = _extra(self.sagemaker_backend)["pending"].get(name)
    if pending:
        response = {**response, "PendingDeploymentSummary": pending}
    held = _extra(self.sagemaker_backend)["hold"].get(name)
    if held and held[1] > 0:
        held[1] -= 1
        response = {**response, "EndpointStatus": held[0]}
    last = getattr(self.sagemaker_backend.endpoints.get(name), "_mlops_last_deployment", None)
    if last:
        response = {**response, "LastDeploymentConfig": last}
    return ActionResult(response)


def _describe_alarm_history(self: CloudWatchResponse) -> ActionResult:
    """State updates of one alarm, newest first, in CloudWatch's shape (moto keeps each old state)."""
    name = self._get_param("AlarmName")
    alarm = self.cloudwatch_backend.alarms.get(name)
    items: list[dict[str, Any]] = []
    if alarm is not None and self._get_param("HistoryItemType") in (None, "StateUpdate"):
        states = [(value, reason, at) for _kind, reason, _data, value, at in alarm.history]
        states.append((alarm.state_value, alarm.state_reason, alarm.state_updated_timestamp))
        start = self._get_param("StartDate")
        for (old, _, _), (new, reason, at) in itertools.pairwise(states):
            if start is not None and at < _as_datetime(start):
                continue
            data = {
                "version": "1.0",
                "oldState": {"stateValue": old},
                "newState": {"stateValue": new, "stateReason": reason},
            }
            items.append(
                {
                    "AlarmName": name,
                    "AlarmType": "MetricAlarm",
                    "Timestamp": at,
                    "HistoryItemType": "StateUpdate",
                    "HistorySummary": f"Alarm updated from {old} to {new}",
                    "HistoryData": json.dumps(data),
                }
            )
    items.reverse()
    return ActionResult({"AlarmHistoryItems": items})


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo else value
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _list_pipeline_execution_steps(self: SageMakerResponse) -> ActionResult:
    execution = get_pipeline_execution_from_arn(
        self.sagemaker_backend.pipelines, self._get_param("PipelineExecutionArn")
    )
    steps = list(getattr(execution, "_mlops_steps", []))
    steps.sort(
        key=lambda s: s["StartTime"], reverse=self._get_param("SortOrder", "Descending") == "Descending"
    )
    return ActionResult({"PipelineExecutionSteps": steps})


def _stop_pipeline_execution(self: SageMakerResponse) -> ActionResult:
    arn = self._get_param("PipelineExecutionArn")
    execution = get_pipeline_execution_from_arn(self.sagemaker_backend.pipelines, arn)
    if execution.pipeline_execution_status in _TERMINAL:
        raise ValidationError(
            message=f"Pipeline execution {arn} is already {execution.pipeline_execution_status}."
        )
    execution.pipeline_execution_status = "Stopping"
    execution.last_modified_time = utcnow()
    return ActionResult({"PipelineExecutionArn": arn})


def _describe_pipeline_execution(self: SageMakerResponse) -> ActionResult:
    arn = self._get_param("PipelineExecutionArn")
    response = self.sagemaker_backend.describe_pipeline_execution(arn)
    execution = get_pipeline_execution_from_arn(self.sagemaker_backend.pipelines, arn)
    response["FailureReason"] = execution.pipeline_execution_failure_reason or ""
    if not response["FailureReason"]:
        del response["FailureReason"]
    response["StartTime"] = execution.start_time
    return ActionResult(response)


def _list_pipeline_executions(self: SageMakerResponse) -> ActionResult:
    response = self.sagemaker_backend.list_pipeline_executions(self._get_param("PipelineName"))
    summaries = response["PipelineExecutionSummaries"]
    for summary in summaries:
        if summary.get("PipelineExecutionFailureReason") in (None, "None"):
            summary.pop("PipelineExecutionFailureReason", None)
    summaries.sort(key=lambda s: s["StartTime"], reverse=self._get_param("SortOrder") != "Ascending")
    limit = self._get_param("MaxResults")
    return ActionResult({"PipelineExecutionSummaries": summaries[:limit] if limit else summaries})


def _update_model_package(self: SageMakerResponse) -> ActionResult:
    sm = self.sagemaker_backend
    arn = self._get_param("ModelPackageArn")
    _extra(sm)["package_updates"].append(json.loads(self.body or "{}"))
    package = sm.describe_model_package(arn)  # raises when it does not exist
    life_cycle = self._get_param("ModelLifeCycle")
    if life_cycle is not None:
        package._mlops_life_cycle = dict(life_cycle)  # type: ignore[attr-defined]
    # moto blanks what the request leaves out; SageMaker keeps it.
    status = self._get_param("ModelApprovalStatus") or package.model_approval_status
    description = self._get_param("ApprovalDescription")
    sm.update_model_package(
        model_package_arn=arn,
        model_approval_status=status,
        approval_description=package.approval_description if description is None else description,
        customer_metadata_properties=self._get_param("CustomerMetadataProperties")
        or package.customer_metadata_properties,
        customer_metadata_properties_to_remove=self._get_param("CustomerMetadataPropertiesToRemove", []),
        additional_inference_specifications_to_add=self._get_param("AdditionalInferenceSpecificationsToAdd"),
    )
    return ActionResult({"ModelPackageArn": package.arn})


def _describe_model_package(self: SageMakerResponse) -> ActionResult:
    package = self.sagemaker_backend.describe_model_package(self._get_param("ModelPackageName"))
    response = package.gen_response_object()
    life_cycle = getattr(package, "_mlops_life_cycle", None)
    if life_cycle:
        response = {**response, "ModelLifeCycle": life_cycle}
    return ActionResult(response)


_original_add_tags = SageMakerResponse.add_tags
_original_list_tags = SageMakerResponse.list_tags


def _is_execution(arn: str) -> bool:
    return ":pipeline/" in arn and "/execution/" in arn


def _add_tags(self: SageMakerResponse) -> ActionResult:
    arn = self._get_param("ResourceArn")
    if not _is_execution(arn):
        return _original_add_tags(self)
    get_pipeline_execution_from_arn(self.sagemaker_backend.pipelines, arn)  # must exist
    tags = _extra(self.sagemaker_backend)["execution_tags"].setdefault(arn, {})
    for tag in self._get_param("Tags"):
        tags[tag["Key"]] = tag.get("Value", "")
    return ActionResult({"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]})


def _list_tags(self: SageMakerResponse) -> ActionResult:
    arn = self._get_param("ResourceArn")
    if not _is_execution(arn):
        return _original_list_tags(self)
    tags = _extra(self.sagemaker_backend)["execution_tags"].get(arn, {})
    return ActionResult({"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]})


def _create_monitoring_schedule(self: SageMakerResponse) -> ActionResult:
    sm = self.sagemaker_backend
    name = self._get_param("MonitoringScheduleName")
    schedules = _extra(sm)["schedules"]
    if name in schedules:
        raise ValidationError(message=f"Monitoring schedule {name} already exists.")
    arn = f"arn:aws:sagemaker:{sm.region_name}:{sm.account_id}:monitoring-schedule/{name}"
    schedules[name] = {
        "MonitoringScheduleArn": arn,
        "MonitoringScheduleName": name,
        "MonitoringScheduleStatus": "Scheduled",
        "MonitoringScheduleConfig": self._get_param("MonitoringScheduleConfig"),
        "CreationTime": utcnow(),
        "LastModifiedTime": utcnow(),
    }
    return ActionResult({"MonitoringScheduleArn": arn})


def _describe_monitoring_schedule(self: SageMakerResponse) -> ActionResult:
    name = self._get_param("MonitoringScheduleName")
    schedule = _extra(self.sagemaker_backend)["schedules"].get(name)
    if schedule is None:
        raise ValidationError(message=f"Could not find monitoring schedule {name}.")
    return ActionResult(schedule)


_original_call_action = SageMakerResponse.call_action


def _call_action(self: SageMakerResponse) -> Any:
    pending = _extra(self.sagemaker_backend)["failures"].get(self._get_action())
    if pending:
        code, message, status = pending.pop(0)
        body = json.dumps({"__type": code, "message": message})
        return (
            status,
            {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": uuid.uuid4().hex},
            body,
        )
    return _original_call_action(self)


_OPERATIONS = {
    "call_action": _call_action,
    "update_endpoint": _update_endpoint,
    "describe_endpoint": _describe_endpoint,
    "update_endpoint_weights_and_capacities": _update_endpoint_weights_and_capacities,
    "list_pipeline_execution_steps": _list_pipeline_execution_steps,
    "stop_pipeline_execution": _stop_pipeline_execution,
    "describe_pipeline_execution": _describe_pipeline_execution,
    "list_pipeline_executions": _list_pipeline_executions,
    "add_tags": _add_tags,
    "list_tags": _list_tags,
    "create_monitoring_schedule": _create_monitoring_schedule,
    "describe_monitoring_schedule": _describe_monitoring_schedule,
    "update_model_package": _update_model_package,
    "describe_model_package": _describe_model_package,
}


def install() -> None:
    """Register the operations on moto's SageMaker and CloudWatch responders (idempotent)."""
    for name, operation in _OPERATIONS.items():
        setattr(SageMakerResponse, name, operation)
    CloudWatchResponse.describe_alarm_history = _describe_alarm_history  # type: ignore[attr-defined]
    Statistics.get_statistics_for_type = _statistic  # type: ignore[method-assign]


_moto_statistic = Statistics.get_statistics_for_type


def _statistic(self: Statistics, stat: str) -> Any:
    """moto's statistics plus percentiles (``p99``), which it answers with nothing."""
    if stat.startswith("p") and stat[1:].replace(".", "", 1).isdigit():
        values = sorted(self.metric_single_values_list)
        if not values:
            return None
        rank = max(0, math.ceil(float(stat[1:]) / 100 * len(values)) - 1)
        return values[rank]
    return _moto_statistic(self, stat)


# -- fixtures shared with other test modules --------------------------------------------------------------
def create_pipeline(sagemaker: Any, name: str, role_arn: str) -> str:
    """A pipeline whose (minimal) definition declares the same parameters as the real one."""
    definition = {
        "Version": "2020-12-01",
        "Parameters": [
            {"Name": "InputData", "Type": "String"},
            {"Name": "AccuracyThreshold", "Type": "Float", "DefaultValue": 0.8},
        ],
        "Steps": [],
    }
    response = sagemaker.create_pipeline(
        PipelineName=name,
        PipelineDefinition=json.dumps(definition),
        RoleArn=role_arn,
        ClientRequestToken=uuid.uuid4().hex,
    )
    return str(response["PipelineArn"])


@dataclass(frozen=True)
class RegisteredPackage:
    version: int
    arn: str
    metrics_uri: str
    lineage: dict[str, str]


def create_run_package(
    sagemaker: Any,
    group: str,
    prefix: str,
    *,
    approval_status: str = "PendingManualApproval",
    bucket: str = "mlops-artifacts",
    **extra: Any,
) -> Any:
    """A package whose model and evaluation.json sit where a pipeline run at ``prefix`` writes them
    (``<prefix>/model.tar.gz``, ``<prefix>/EvaluateModel/evaluation/evaluation.json``)."""
    from ml.sagemaker.registry import EVALUATION_SUFFIX

    return sagemaker.create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus=approval_status,
        InferenceSpecification={
            "Containers": [{"Image": XGBOOST_IMAGE, "ModelDataUrl": f"s3://{bucket}/{prefix}/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelMetrics={
            "ModelQuality": {
                "Statistics": {
                    "ContentType": "application/json",
                    "S3Uri": f"s3://{bucket}/{prefix}{EVALUATION_SUFFIX}",
                }
            }
        },
        **extra,
    )


def register_model_package(
    sagemaker: Any,
    s3: Any,
    group: str,
    *,
    approval_status: str = "PendingManualApproval",
    accuracy: float = 0.87,
    metrics: Mapping[str, float] | None = None,
    lineage: Mapping[str, str] | None = None,
    bucket: str = "mlops-artifacts",
) -> RegisteredPackage:
    """Register a version as the pipeline's RegisterModel step would: XGBoost container, model.tar.gz,
    evaluation.json as ModelQuality statistics, lineage in CustomerMetadataProperties."""
    try:
        sagemaker.describe_model_package_group(ModelPackageGroupName=group)
    except sagemaker.exceptions.ClientError:
        sagemaker.create_model_package_group(
            ModelPackageGroupName=group, ModelPackageGroupDescription="churn"
        )
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket)
    run = uuid.uuid4().hex[:12]
    values = {"accuracy": accuracy, "precision": 0.81, "recall": 0.74, "f1": 0.77, "auc": 0.91}
    values.update(metrics or {})
    report = {
        "classification_metrics": {
            name: {"value": value, "standard_deviation": 0.004} for name, value in values.items()
        },
        "threshold": 0.5,
    }
    key = f"pipelines/{run}/evaluation/evaluation.json"
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(report).encode(), ContentType="application/json")
    metrics_uri = f"s3://{bucket}/{key}"
    full_lineage = {
        "execution_id": run,
        "requested_by": "U0ALICE",
        "git_sha": "3f2c1a9",
        "dataset_sha256": "ab" * 32,
        "artifact_sha256": "cd" * 32,
        "parameters": json.dumps({"num_round": "100", "max_depth": "5"}),
    }
    full_lineage.update(lineage or {})
    response = sagemaker.create_model_package(
        ModelPackageGroupName=group,
        ModelPackageDescription=f"XGBoost model from pipeline run {run}",
        ModelApprovalStatus=approval_status,
        InferenceSpecification={
            "Containers": [
                {"Image": XGBOOST_IMAGE, "ModelDataUrl": f"s3://{bucket}/pipelines/{run}/model/model.tar.gz"}
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
            "SupportedRealtimeInferenceInstanceTypes": ["ml.m5.large", "ml.m5.xlarge"],
        },
        ModelMetrics={
            "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": metrics_uri}}
        },
        CustomerMetadataProperties=full_lineage,
    )
    arn = str(response["ModelPackageArn"])
    return RegisteredPackage(int(arn.rsplit("/", 1)[-1]), arn, metrics_uri, full_lineage)
