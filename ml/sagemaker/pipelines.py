"""The pipeline and its executions: upsert, start (with the parameter spec and run policy), describe
with steps, list, wait for and stop."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ml.clock import Clock
from ml.parameters import RunPolicy
from ml.platform import PIPELINE_STEPS, Execution, ExecutionStatus, InvalidRequest, StepInfo, StepStatus
from ml.sagemaker import naming
from ml.sagemaker.clients import AwsClients, AwsPart
from ml.sagemaker.errors import aws_errors, is_not_found, translate_error
from ml.sagemaker.parameters import effective_parameters, validate_parameters

logger = logging.getLogger(__name__)

PIPELINE_DESCRIPTION = "XGBoost training pipeline managed by mlops-bot"
PIPELINE_TAGS = {"managed-by": "mlops-bot"}
TERMINAL_STATUSES = frozenset({"Succeeded", "Failed", "Stopped"})


def upsert_pipeline(sagemaker: Any, name: str, definition: str, role_arn: str) -> tuple[bool, str]:
    """Create the pipeline, or update it when it exists: (created, pipeline ARN)."""
    try:
        sagemaker.describe_pipeline(PipelineName=name)
        exists = True
    except ClientError as exc:
        if not is_not_found(exc):
            raise
        exists = False
    request = {
        "PipelineName": name,
        "PipelineDefinition": definition,
        "RoleArn": role_arn,
        "PipelineDescription": PIPELINE_DESCRIPTION,
    }
    if exists:
        response = sagemaker.update_pipeline(**request)
    else:
        response = sagemaker.create_pipeline(**request, Tags=naming.tags(PIPELINE_TAGS))
    return not exists, str(response["PipelineArn"])


def start_execution(
    sagemaker: Any,
    pipeline_name: str,
    overrides: Mapping[str, str],
    requested_by: str,
    git_sha: str | None,
    now: datetime,
    client_token: str | None = None,
    ci_run: naming.CIRun | None = None,
) -> tuple[str, Exception | None]:
    """Start a run of checked ``overrides``: (execution ARN, the tagging failure if any).

    The tags only ease searching: the description already records who asked and for which commit,
    so a run that could not be tagged still counts as started.
    """
    request: dict[str, Any] = {
        "PipelineName": pipeline_name,
        "PipelineExecutionDisplayName": naming.display_name(requested_by, now),
        "PipelineExecutionDescription": naming.execution_description(requested_by, git_sha, ci_run),
        "PipelineParameters": [{"Name": name, "Value": value} for name, value in overrides.items()],
    }
    if client_token is not None:
        request["ClientRequestToken"] = client_token
    arn = str(sagemaker.start_pipeline_execution(**request)["PipelineExecutionArn"])
    # StartPipelineExecution takes no tags: they are added once the run exists.
    run_tags = {naming.TAG_REQUESTED_BY: requested_by}
    if git_sha:
        run_tags[naming.TAG_GIT_SHA] = git_sha
    try:
        sagemaker.add_tags(ResourceArn=arn, Tags=naming.tags(run_tags))
    except (ClientError, BotoCoreError) as exc:
        return arn, exc
    return arn, None


def execution_steps(sagemaker: Any, arn: str) -> list[dict[str, Any]]:
    """The execution's started steps, in start order."""
    steps: list[dict[str, Any]] = []
    paginator = sagemaker.get_paginator("list_pipeline_execution_steps")
    for page in paginator.paginate(PipelineExecutionArn=arn, SortOrder="Ascending"):
        steps.extend(dict(step) for step in page.get("PipelineExecutionSteps", []))
    return steps


def execution_parameters(sagemaker: Any, arn: str) -> dict[str, str]:
    """The parameters as SageMaker recorded them for the execution."""
    params: dict[str, str] = {}
    paginator = sagemaker.get_paginator("list_pipeline_parameters_for_execution")
    for page in paginator.paginate(PipelineExecutionArn=arn):
        for item in page.get("PipelineParameters", []):
            params[str(item["Name"])] = str(item["Value"])
    return params


def failed_step(steps: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """``{"name", "failure_reason"}`` of the first failed step (a Fail step's message counts)."""
    for step in steps:
        if step.get("StepStatus") == "Failed":
            reason = step.get("FailureReason") or (
                step.get("Metadata", {}).get("Fail", {}).get("ErrorMessage")
            )
            return {"name": str(step.get("StepName")), "failure_reason": str(reason) if reason else None}
    return None


@dataclass(frozen=True)
class WaitOutcome:
    """How a wait ended: ``finished`` is False when the execution outlived the timeout."""

    status: str
    finished: bool
    #: the execution's own reason, else its failed step's
    failure_reason: str | None = None
    failed_step: dict[str, Any] | None = None


def wait_for_execution(
    sagemaker: Any,
    arn: str,
    clock: Clock,
    *,
    timeout: float,
    poll_interval: float,
    max_poll_interval: float,
    on_step: Callable[[str, str], None],
) -> WaitOutcome:
    """Poll the execution until it ends or ``timeout`` seconds pass, backing off by half each time
    up to ``max_poll_interval``; ``on_step(name, status)`` hears each step's status once per change."""
    deadline = clock.monotonic() + timeout
    delay = poll_interval
    seen: dict[str, str] = {}
    while True:
        described = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
        steps = execution_steps(sagemaker, arn)
        for step in steps:
            name, step_status = str(step.get("StepName")), str(step.get("StepStatus"))
            if seen.get(name) != step_status:
                seen[name] = step_status
                on_step(name, step_status)
        status = str(described["PipelineExecutionStatus"])
        if status in TERMINAL_STATUSES:
            break
        remaining = deadline - clock.monotonic()
        if remaining <= 0:
            return WaitOutcome(status, finished=False)
        clock.sleep(min(delay, remaining))
        delay = min(max(delay * 1.5, 1.0), max_poll_interval)
    failed = failed_step(steps)
    reason = described.get("FailureReason") or (failed or {}).get("failure_reason")
    return WaitOutcome(status, True, str(reason) if reason else None, failed)


class Pipelines(AwsPart):
    """The platform's pipeline: runs of ``config.pipeline_name``."""

    def __init__(self, aws: AwsClients, clock: Clock) -> None:
        super().__init__(aws, clock)
        self.pipeline_name = aws.config.pipeline_name
        self._pipeline_arn: str | None = None

    def execution_arn(self, execution_id: str) -> str:
        if execution_id.startswith("arn:"):
            return execution_id
        if self._pipeline_arn is None:
            with aws_errors(f"pipeline '{self.pipeline_name}'"):
                self._pipeline_arn = str(
                    self._aws.sagemaker.describe_pipeline(PipelineName=self.pipeline_name)["PipelineArn"]
                )
        return f"{self._pipeline_arn}/execution/{execution_id}"

    def start(
        self, parameters: Mapping[str, str], requested_by: str, git_sha: str | None, token: str | None
    ) -> Execution:
        """Start a run; ``token`` makes a retried request start it only once (a fresh one if None)."""
        overrides = validate_parameters(
            parameters,
            policy=RunPolicy(self.config.min_accuracy_threshold),
            allowed_input_prefixes=self.config.allowed_input_prefixes,
        )
        if not requested_by.strip():
            raise InvalidRequest("A pipeline run needs the name of who requested it")
        token = token or uuid.uuid4().hex
        with aws_errors(f"pipeline '{self.pipeline_name}'"):
            arn, untagged = start_execution(
                self._aws.sagemaker,
                self.pipeline_name,
                overrides,
                requested_by,
                git_sha,
                self._clock.now(),
                token,
            )
        if untagged is not None:
            logger.warning(
                "Pipeline execution %s started but could not be tagged: %s",
                arn,
                translate_error(untagged, arn),
            )
        return self.describe(arn)

    def describe(self, execution_id: str) -> Execution:
        arn = self.execution_arn(execution_id)
        target = f"pipeline execution '{naming.execution_id(arn)}'"
        pool = self._aws.executor()
        sagemaker = self._aws.sagemaker
        with aws_errors(target):
            description = pool.submit(sagemaker.describe_pipeline_execution, PipelineExecutionArn=arn)
            steps = pool.submit(execution_steps, sagemaker, arn)
            params = pool.submit(execution_parameters, sagemaker, arn)
            return self._execution(description.result(), params.result(), steps.result())

    def _execution(
        self, data: Mapping[str, Any], parameters: Mapping[str, str], raw_steps: list[dict[str, Any]] | None
    ) -> Execution:
        arn = str(data["PipelineExecutionArn"])
        status = ExecutionStatus(str(data["PipelineExecutionStatus"]))
        description = data.get("PipelineExecutionDescription")
        requested_by, git_sha = naming.parse_execution_description(description)
        started = data.get("StartTime") or data.get("CreationTime") or self._clock.now()
        ended = data.get("LastModifiedTime") if status.terminal else None
        failure = data.get("FailureReason") or data.get("PipelineExecutionFailureReason") or None
        steps: tuple[StepInfo, ...] = ()
        model_version: int | None = None
        if raw_steps is not None:
            steps, model_version = ordered_steps(raw_steps, status)
            if failure is None and status is ExecutionStatus.FAILED:
                failure = next((s.failure_reason for s in steps if s.failure_reason), None)
        return Execution(
            execution_id=naming.execution_id(arn),
            status=status,
            parameters=effective_parameters(parameters),
            requested_by=requested_by,
            git_sha=git_sha,
            started_at=started,
            ended_at=ended,
            failure_reason=str(failure) if failure else None,
            steps=steps,
            model_version=model_version,
            origin=naming.execution_origin(description),
        )

    def list(self, limit: int = 20, *, parameters: bool = True) -> list[Execution]:
        """Newest first, without steps (``describe`` has them); without parameters either when
        ``parameters`` is False (each run's are one more call, made only once the listing is back)."""
        if limit < 1:
            raise InvalidRequest("limit must be at least 1")
        summaries: list[dict[str, Any]] = []
        with aws_errors(f"pipeline '{self.pipeline_name}'"):
            paginator = self._aws.sagemaker.get_paginator("list_pipeline_executions")
            pages = paginator.paginate(
                PipelineName=self.pipeline_name,
                SortBy="CreationTime",
                SortOrder="Descending",
                PaginationConfig={"MaxItems": limit, "PageSize": min(limit, 100)},
            )
            for page in pages:
                summaries.extend(page.get("PipelineExecutionSummaries", []))
            summaries.sort(key=lambda s: s["StartTime"], reverse=True)
            summaries = summaries[:limit]
            if not parameters:
                return [replace(self._execution(s, {}, None), parameters={}) for s in summaries]
            pool = self._aws.executor()
            sagemaker = self._aws.sagemaker
            params = [
                pool.submit(execution_parameters, sagemaker, s["PipelineExecutionArn"]) for s in summaries
            ]
            return [self._execution(s, p.result(), None) for s, p in zip(summaries, params, strict=True)]

    def stop(self, execution_id: str) -> Execution:
        current = self.describe(execution_id)
        if current.status.terminal:
            raise InvalidRequest(f"Execution {current.execution_id} already {current.status.value.lower()}")
        arn = self.execution_arn(execution_id)
        with aws_errors(f"pipeline execution '{current.execution_id}'"):
            self._aws.sagemaker.stop_pipeline_execution(
                PipelineExecutionArn=arn, ClientRequestToken=uuid.uuid4().hex
            )
        return self.describe(arn)


def ordered_steps(
    raw_steps: list[dict[str, Any]], status: ExecutionStatus
) -> tuple[tuple[StepInfo, ...], int | None]:
    """Steps in pipeline order, and the version a succeeded RegisterModel step made.

    SageMaker omits steps that have not started, so a running execution shows them as Pending.
    """

    def canonical(name: str) -> str:
        # ModelStep and friends suffix the declared name ("RegisterModel-RegisterModel").
        return next(
            (known for known in PIPELINE_STEPS if name == known or name.startswith(known + "-")), name
        )

    seen: dict[str, StepInfo] = {}
    model_version: int | None = None
    for raw in sorted(raw_steps, key=lambda s: s.get("StartTime") or datetime.max.replace(tzinfo=UTC)):
        name = canonical(str(raw["StepName"]))
        seen[name] = StepInfo(
            name=name,
            status=StepStatus(str(raw["StepStatus"])),
            started_at=raw.get("StartTime"),
            ended_at=raw.get("EndTime"),
            failure_reason=raw.get("FailureReason") or None,
        )
        registered = raw.get("Metadata", {}).get("RegisterModel", {}).get("Arn")
        if registered and raw.get("StepStatus") == "Succeeded":
            model_version = naming.version_from_package_arn(str(registered))
    ordered = [seen.pop(name) for name in PIPELINE_STEPS if name in seen]
    if not status.terminal:
        done = {step.name for step in ordered}
        ordered += [StepInfo(name, StepStatus.PENDING) for name in PIPELINE_STEPS if name not in done]
        ordered.sort(key=lambda s: PIPELINE_STEPS.index(s.name))
    return (*ordered, *seen.values()), model_version
