"""The ``pipeline_result`` report of one execution, read from SageMaker and S3.

Its shape (``kind`` "pipeline_result", ``schema_version`` 1), posted by CI to the bot::

    {
      "kind": "pipeline_result",
      "schema_version": 1,
      "pipeline_name": "mlops-xgboost",
      "pipeline_arn": "arn:aws:sagemaker:...:pipeline/mlops-xgboost",
      "execution_arn": "arn:aws:sagemaker:...:pipeline/mlops-xgboost/execution/abc123",
      "execution_id": "abc123",
      "status": "Succeeded",                 # Executing | Stopping | Stopped | Failed | Succeeded
      "failure_reason": null,                # execution-level reason, else the failed step's
      "started_at": "2026-11-26T04:00:00+00:00",
      "ended_at": "2026-11-26T04:21:00+00:00",   # null while not finished
      "requested_by": "alice", "git_sha": "0123abcd",  # from the execution description
      "parameters": {"InputData": "s3://...", "num_round": "100", ...},  # as SageMaker recorded them
      "steps": [{"name": "PreprocessData", "status": "Succeeded", "started_at": ..., "ended_at": ...,
                 "failure_reason": null}, ...],  # in start order; unstarted steps are absent
      "failed_step": null,                   # or {"name": ..., "failure_reason": ...}
      "model_package": {"arn": "...", "group": "mlops-xgboost", "version": 7,
                        "approval_status": "PendingManualApproval"},  # null if nothing registered
      "metrics": {"accuracy": 0.91, "precision": 0.88, ...},  # classification_metrics.*.value
      "metrics_source": "s3://.../evaluation.json",  # null when no evaluation.json could be found
      "warnings": []                         # what could not be read, e.g. an S3 access error
    }
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from ml.pipeline.layout import EVALUATION_FILE, EVALUATION_OUTPUT, STEP_EVALUATE, STEP_REGISTER
from ml.sagemaker import naming
from ml.sagemaker.pipelines import TERMINAL_STATUSES, execution_parameters, execution_steps, failed_step
from ml.sagemaker.registry import describe_package, metrics_uri
from ml.sagemaker.storage import classification_metrics, read_object, split_s3_uri

RESULT_KIND: Final = "pipeline_result"
RESULT_SCHEMA_VERSION: Final = 1


def _iso(value: object) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


def evaluation_uri(
    sagemaker: Any, steps: Sequence[Mapping[str, Any]], package: Mapping[str, Any] | None
) -> str | None:
    """Where evaluation.json is: the EvaluateModel job's output, else the registered package's metrics."""
    for step in steps:
        job_arn = step.get("Metadata", {}).get("ProcessingJob", {}).get("Arn")
        if step.get("StepName") == STEP_EVALUATE and job_arn:
            job = sagemaker.describe_processing_job(ProcessingJobName=str(job_arn).rsplit("/", 1)[-1])
            for output in job.get("ProcessingOutputConfig", {}).get("Outputs", []):
                uri = output.get("S3Output", {}).get("S3Uri")
                if output.get("OutputName") == EVALUATION_OUTPUT and uri:
                    return f"{str(uri).rstrip('/')}/{EVALUATION_FILE}"
    return metrics_uri(package) if package is not None else None


def _registered(
    sagemaker: Any, steps: Sequence[Mapping[str, Any]], warnings: list[str]
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the described package, its report entry) of the RegisterModel step, if it registered one."""
    package: dict[str, Any] | None = None
    entry: dict[str, Any] | None = None
    for step in steps:
        package_arn = step.get("Metadata", {}).get("RegisterModel", {}).get("Arn")
        if step.get("StepName") == STEP_REGISTER and package_arn:
            try:
                package_info = describe_package(sagemaker, str(package_arn))
                package = package_info
            except ClientError as exc:
                warnings.append(f"could not describe model package {package_arn}: {exc}")
                package_info = {}
            entry = {
                "arn": str(package_arn),
                "group": package_info.get("ModelPackageGroupName") or str(package_arn).rsplit("/", 2)[-2],
                "version": package_info.get("ModelPackageVersion")
                or naming.version_from_package_arn(str(package_arn)),
                "approval_status": package_info.get("ModelApprovalStatus"),
            }
    return package, entry


def _metrics(
    sagemaker: Any,
    s3: Any,
    steps: Sequence[Mapping[str, Any]],
    package: Mapping[str, Any] | None,
    warnings: list[str],
) -> tuple[dict[str, float] | None, str | None]:
    """(metrics, where they were read), or (None, None) with a warning saying why not."""
    try:
        source = evaluation_uri(sagemaker, steps, package)
    except ClientError as exc:
        warnings.append(f"could not locate evaluation.json: {exc}")
        return None, None
    if source is None:
        return None, None
    try:
        split_s3_uri(source)
        body = read_object(s3, source)
    except (ClientError, BotoCoreError, ValueError) as exc:
        warnings.append(f"could not read {source}: {exc}")
        return None, None
    try:
        return classification_metrics(json.loads(body)), source
    except ValueError as exc:
        warnings.append(f"{source} is not an evaluation report: {exc}")
        return None, None


def result_report(sagemaker: Any, s3: Any, execution_arn: str) -> dict[str, Any]:
    """The ``pipeline_result`` report of one execution (shape in the module docstring)."""
    described = sagemaker.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
    steps = execution_steps(sagemaker, execution_arn)
    parameters = execution_parameters(sagemaker, execution_arn)
    status = str(described["PipelineExecutionStatus"])
    requested_by, git_sha = naming.parse_execution_description(described.get("PipelineExecutionDescription"))
    failed = failed_step(steps)
    warnings: list[str] = []
    package, model_package = _registered(sagemaker, steps, warnings)
    metrics, source = _metrics(sagemaker, s3, steps, package, warnings)
    failure = described.get("FailureReason") or (failed or {}).get("failure_reason")
    return {
        "kind": RESULT_KIND,
        "schema_version": RESULT_SCHEMA_VERSION,
        "pipeline_name": str(described.get("PipelineArn", "")).rsplit("/", 1)[-1] or None,
        "pipeline_arn": described.get("PipelineArn"),
        "execution_arn": execution_arn,
        "execution_id": naming.execution_id(execution_arn),
        "status": status,
        "failure_reason": str(failure) if failure else None,
        "started_at": _iso(described.get("CreationTime")),
        "ended_at": _iso(described.get("LastModifiedTime")) if status in TERMINAL_STATUSES else None,
        "requested_by": requested_by or None,
        "git_sha": git_sha,
        "parameters": parameters,
        "steps": [
            {
                "name": str(step.get("StepName")),
                "status": str(step.get("StepStatus")),
                "started_at": _iso(step.get("StartTime")),
                "ended_at": _iso(step.get("EndTime")),
                "failure_reason": step.get("FailureReason") or None,
            }
            for step in steps
        ],
        "failed_step": failed,
        "model_package": model_package,
        "metrics": metrics,
        "metrics_source": source,
        "warnings": warnings,
    }
