"""Pipeline executions: start (with the parameter spec and run policy), describe with steps, list, stop."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ml.parameters import RunPolicy
from ml.platform import PIPELINE_STEPS, Execution, ExecutionStatus, InvalidRequest, StepInfo, StepStatus
from ml.sagemaker import naming
from ml.sagemaker.clients import AwsClients
from ml.sagemaker.clock import Clock
from ml.sagemaker.errors import aws_errors, translate_error
from ml.sagemaker.parameters import effective_parameters, validate_parameters

logger = logging.getLogger(__name__)


class Pipelines:
    """The platform's pipeline: runs of ``config.pipeline_name``."""

    def __init__(self, aws: AwsClients, clock: Clock) -> None:
        self._aws = aws
        self._clock = clock
        self.config = aws.config
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
        self,
        parameters: Mapping[str, str],
        requested_by: str,
        git_sha: str | None = None,
        *,
        client_token: str | None = None,
    ) -> Execution:
        """Start a run; ``client_token`` makes a retried request start it only once."""
        overrides = validate_parameters(
            parameters,
            policy=RunPolicy(self.config.min_accuracy_threshold),
            allowed_input_prefixes=self.config.allowed_input_prefixes,
        )
        if not requested_by.strip():
            raise InvalidRequest("A pipeline run needs the name of who requested it")
        now = self._clock.now()
        token = client_token or uuid.uuid4().hex
        sagemaker = self._aws.sagemaker
        with aws_errors(f"pipeline '{self.pipeline_name}'"):
            response = sagemaker.start_pipeline_execution(
                PipelineName=self.pipeline_name,
                PipelineExecutionDisplayName=naming.display_name(requested_by, now),
                PipelineExecutionDescription=naming.execution_description(requested_by, git_sha),
                PipelineParameters=[{"Name": name, "Value": value} for name, value in overrides.items()],
                ClientRequestToken=token,
            )
        arn = str(response["PipelineExecutionArn"])
        # StartPipelineExecution takes no tags; the description above is the authoritative record.
        run_tags = {naming.TAG_REQUESTED_BY: requested_by}
        if git_sha:
            run_tags[naming.TAG_GIT_SHA] = git_sha
        try:
            sagemaker.add_tags(ResourceArn=arn, Tags=naming.tags(run_tags))
        except (ClientError, BotoCoreError) as exc:
            logger.warning(
                "Pipeline execution %s started but could not be tagged: %s", arn, translate_error(exc, arn)
            )
        return self.describe(arn)

    def describe(self, execution_id: str) -> Execution:
        arn = self.execution_arn(execution_id)
        target = f"pipeline execution '{naming.execution_id(arn)}'"
        pool = self._aws.executor()
        with aws_errors(target):
            description = pool.submit(
                self._aws.sagemaker.describe_pipeline_execution, PipelineExecutionArn=arn
            )
            steps = pool.submit(self._execution_steps, arn)
            params = pool.submit(self._execution_parameters, arn)
            return self._execution(description.result(), params.result(), steps.result())

    def _execution_steps(self, arn: str) -> list[dict[str, Any]]:
        steps: list[dict[str, Any]] = []
        paginator = self._aws.sagemaker.get_paginator("list_pipeline_execution_steps")
        for page in paginator.paginate(PipelineExecutionArn=arn, SortOrder="Ascending"):
            steps.extend(page.get("PipelineExecutionSteps", []))
        return steps

    def _execution_parameters(self, arn: str) -> dict[str, str]:
        params: dict[str, str] = {}
        paginator = self._aws.sagemaker.get_paginator("list_pipeline_parameters_for_execution")
        for page in paginator.paginate(PipelineExecutionArn=arn):
            for item in page.get("PipelineParameters", []):
                params[str(item["Name"])] = str(item["Value"])
        return params

    def _execution(
        self, data: Mapping[str, Any], parameters: Mapping[str, str], raw_steps: list[dict[str, Any]] | None
    ) -> Execution:
        arn = str(data["PipelineExecutionArn"])
        status = ExecutionStatus(str(data["PipelineExecutionStatus"]))
        requested_by, git_sha = naming.parse_execution_description(data.get("PipelineExecutionDescription"))
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
        )

    def list(self, limit: int = 20) -> list[Execution]:
        """Newest first, without steps (``describe`` has them)."""
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
            pool = self._aws.executor()
            params = [pool.submit(self._execution_parameters, s["PipelineExecutionArn"]) for s in summaries]
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
