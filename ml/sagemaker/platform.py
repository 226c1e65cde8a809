"""``MLPlatform`` on AWS: SageMaker Pipelines, Model Registry and real-time endpoints, through boto3.

Deployments are blue/green ``UpdateEndpoint`` calls guarded by CloudWatch alarms; every model and
endpoint config is named after the endpoint and version it serves (see ``naming``), which is what
rollback and history read back. Anything created for a deployment that does not end serving is
deleted again, so a failed deploy leaves the endpoint on its previous, validated config.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from ml.platform import (
    ENVIRONMENTS,
    PIPELINE_STEPS,
    ApprovalStatus,
    Deployment,
    EndpointInfo,
    EndpointStatus,
    Environment,
    EventListener,
    Execution,
    ExecutionStatus,
    InvalidRequest,
    ModelPackage,
    NotFound,
    ParameterSpec,
    PlatformError,
    RolledBack,
    StepInfo,
    StepStatus,
)
from ml.sagemaker import deployments, naming
from ml.sagemaker.config import SageMakerConfig
from ml.sagemaker.errors import AwsUnavailable, DeploymentFailed, Throttled, aws_errors, translate_error
from ml.sagemaker.parameters import PIPELINE_PARAMETERS, effective_parameters, validate_parameters

logger = logging.getLogger(__name__)

VARIANT_NAME = "AllTraffic"
#: Metrics read from evaluation.json's ``classification_metrics``.
METRIC_NAMES = ("accuracy", "precision", "recall", "f1", "auc")

_ENDPOINT_STATUS = {
    "OutOfService": EndpointStatus.OUT_OF_SERVICE,
    "Creating": EndpointStatus.CREATING,
    "Updating": EndpointStatus.UPDATING,
    "SystemUpdating": EndpointStatus.UPDATING,
    "RollingBack": EndpointStatus.ROLLING_BACK,
    "InService": EndpointStatus.IN_SERVICE,
    "Deleting": EndpointStatus.OUT_OF_SERVICE,
    "Failed": EndpointStatus.FAILED,
    "UpdateRollbackFailed": EndpointStatus.FAILED,
}
_BUSY_ENDPOINT = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})

ProgressCallback = Callable[[EndpointInfo], None]


@dataclass(frozen=True)
class PlatformSnapshot:
    """Everything ``/mlops status`` shows, fetched in one go."""

    packages: list[ModelPackage]
    #: None for an environment whose endpoint does not exist yet
    endpoints: dict[Environment, EndpointInfo | None] = field(default_factory=dict)


@dataclass
class _CachedPackage:
    fetched_at: float
    approval_status: str
    package: ModelPackage


class _WaitTimedOut(Exception):
    """The endpoint was still busy when the waiter's attempts ran out."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


def _transient(error: Exception, endpoint: str) -> bool:
    """Whether a failure to read the endpoint while waiting is worth another poll (and logs it)."""
    translated = translate_error(error, f"endpoint '{endpoint}'")
    if isinstance(translated, Throttled | AwsUnavailable):
        logger.warning("Could not read %s while waiting for it (%s); polling again", endpoint, translated)
        return True
    return False


class SageMakerPlatform:
    """The SageMaker implementation of ``ml.platform.MLPlatform``."""

    name = "sagemaker"

    def __init__(
        self,
        config: SageMakerConfig,
        session: boto3.Session | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.model_package_group = config.model_package_group
        self.pipeline_name = config.pipeline_name
        self._session = session
        self._sleep = sleep
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._arn_prefix: str | None = None
        self._pipeline_arn: str | None = None
        # evaluation.json files are immutable once written: cache them for the process's life.
        self._metrics_cache: dict[str, dict[str, float]] = {}
        self._package_cache: dict[str, _CachedPackage] = {}
        self._closed = False

    # -- plumbing -----------------------------------------------------------
    def _botocore_config(self) -> BotoConfig:
        cfg = self.config
        return BotoConfig(
            region_name=cfg.region,
            retries={"mode": cfg.retry_mode, "total_max_attempts": cfg.max_attempts},
            connect_timeout=cfg.connect_timeout_seconds,
            read_timeout=cfg.read_timeout_seconds,
            max_pool_connections=max(10, cfg.max_concurrency + 2),
            user_agent_extra="mlops-bot",
        )

    def _client(self, service: str) -> Any:
        client = self._clients.get(service)
        if client is not None:
            return client
        with self._lock:
            if self._closed:
                raise PlatformError("The SageMaker platform has been closed")
            client = self._clients.get(service)
            if client is None:
                # boto3 sessions are not thread-safe: clients are created under the lock.
                if self._session is None:
                    self._session = boto3.Session(region_name=self.config.region)
                kwargs: dict[str, Any] = {"config": self._botocore_config()}
                if self.config.endpoint_url:
                    kwargs["endpoint_url"] = self.config.endpoint_url
                client = self._session.client(service, **kwargs)  # type: ignore[call-overload]
                self._clients[service] = client
            return client

    @property
    def sagemaker(self) -> Any:
        return self._client("sagemaker")

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._closed:
                raise PlatformError("The SageMaker platform has been closed")
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self.config.max_concurrency, thread_name_prefix="sagemaker-platform"
                )
            return self._pool

    def _env(self, environment: str) -> Environment:
        for env in ENVIRONMENTS:
            if env == environment:
                return env
        raise InvalidRequest(
            f"Unknown environment {environment!r}; expected one of {', '.join(ENVIRONMENTS)}"
        )

    def _prefix(self) -> str:
        """``arn:<partition>:sagemaker:<region>:<account>`` of the bot's account."""
        if self._arn_prefix is None:
            with aws_errors("the bot's AWS identity"):
                identity = self._client("sts").get_caller_identity()
            partition = str(identity["Arn"]).split(":")[1]
            self._arn_prefix = f"arn:{partition}:sagemaker:{self.config.region}:{identity['Account']}"
        return self._arn_prefix

    def package_arn(self, version: int) -> str:
        # SageMaker lower-cases the group name in model package ARNs.
        return f"{self._prefix()}:model-package/{self.model_package_group.lower()}/{version}"

    def _execution_arn(self, execution_id: str) -> str:
        if execution_id.startswith("arn:"):
            return execution_id
        if self._pipeline_arn is None:
            with aws_errors(f"pipeline '{self.pipeline_name}'"):
                self._pipeline_arn = str(
                    self.sagemaker.describe_pipeline(PipelineName=self.pipeline_name)["PipelineArn"]
                )
        return f"{self._pipeline_arn}/execution/{execution_id}"

    # -- pipelines ----------------------------------------------------------
    def pipeline_parameters(self) -> Mapping[str, ParameterSpec]:
        return PIPELINE_PARAMETERS

    def start_pipeline(
        self,
        parameters: Mapping[str, str],
        requested_by: str,
        git_sha: str | None = None,
        *,
        client_token: str | None = None,
    ) -> Execution:
        """Start a run; ``client_token`` makes a retried request start it only once."""
        overrides = validate_parameters(parameters)
        if not requested_by.strip():
            raise InvalidRequest("A pipeline run needs the name of who requested it")
        now = datetime.now(UTC)
        token = client_token or uuid.uuid4().hex
        with aws_errors(f"pipeline '{self.pipeline_name}'"):
            response = self.sagemaker.start_pipeline_execution(
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
            self.sagemaker.add_tags(ResourceArn=arn, Tags=naming.tags(run_tags))
        except (ClientError, BotoCoreError) as exc:
            logger.warning(
                "Pipeline execution %s started but could not be tagged: %s", arn, translate_error(exc, arn)
            )
        return self.describe_execution(arn)

    def describe_execution(self, execution_id: str) -> Execution:
        arn = self._execution_arn(execution_id)
        target = f"pipeline execution '{naming.execution_id(arn)}'"
        pool = self._executor()
        with aws_errors(target):
            description = pool.submit(self.sagemaker.describe_pipeline_execution, PipelineExecutionArn=arn)
            steps = pool.submit(self._execution_steps, arn)
            params = pool.submit(self._execution_parameters, arn)
            return self._execution(description.result(), params.result(), steps.result())

    def _execution_steps(self, arn: str) -> list[dict[str, Any]]:
        steps: list[dict[str, Any]] = []
        paginator = self.sagemaker.get_paginator("list_pipeline_execution_steps")
        for page in paginator.paginate(PipelineExecutionArn=arn, SortOrder="Ascending"):
            steps.extend(page.get("PipelineExecutionSteps", []))
        return steps

    def _execution_parameters(self, arn: str) -> dict[str, str]:
        params: dict[str, str] = {}
        paginator = self.sagemaker.get_paginator("list_pipeline_parameters_for_execution")
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
        started = data.get("StartTime") or data.get("CreationTime") or datetime.now(UTC)
        ended = data.get("LastModifiedTime") if status.terminal else None
        failure = data.get("FailureReason") or data.get("PipelineExecutionFailureReason") or None
        steps: tuple[StepInfo, ...] = ()
        model_version: int | None = None
        if raw_steps is not None:
            steps, model_version = self._steps(raw_steps, status)
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

    @staticmethod
    def _steps(
        raw_steps: list[dict[str, Any]], status: ExecutionStatus
    ) -> tuple[tuple[StepInfo, ...], int | None]:
        """Steps in pipeline order; SageMaker omits steps that have not started, so they are Pending."""

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

    def list_executions(self, limit: int = 20) -> list[Execution]:
        """Newest first, without steps (``describe_execution`` has them)."""
        if limit < 1:
            raise InvalidRequest("limit must be at least 1")
        summaries: list[dict[str, Any]] = []
        with aws_errors(f"pipeline '{self.pipeline_name}'"):
            paginator = self.sagemaker.get_paginator("list_pipeline_executions")
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
            pool = self._executor()
            params = [pool.submit(self._execution_parameters, s["PipelineExecutionArn"]) for s in summaries]
            return [self._execution(s, p.result(), None) for s, p in zip(summaries, params, strict=True)]

    def stop_execution(self, execution_id: str) -> Execution:
        current = self.describe_execution(execution_id)
        if current.status.terminal:
            raise InvalidRequest(f"Execution {current.execution_id} already {current.status.value.lower()}")
        arn = self._execution_arn(execution_id)
        with aws_errors(f"pipeline execution '{current.execution_id}'"):
            self.sagemaker.stop_pipeline_execution(
                PipelineExecutionArn=arn, ClientRequestToken=uuid.uuid4().hex
            )
        return self.describe_execution(arn)

    # -- model registry -----------------------------------------------------
    def list_model_packages(self, limit: int | None = None) -> list[ModelPackage]:
        """Versions of the group, newest first, described with bounded concurrency.

        With ``limit`` only the newest ``limit`` are listed and described, which is what
        ``/mlops status`` shows: a group with hundreds of versions costs a handful of calls.
        """
        group = f"model package group '{self.model_package_group}'"
        with aws_errors(group):
            summaries: list[dict[str, Any]] = []
            paginator = self.sagemaker.get_paginator("list_model_packages")
            for page in paginator.paginate(
                ModelPackageGroupName=self.model_package_group,
                ModelPackageType="Versioned",
                SortBy="CreationTime",
                SortOrder="Descending",
                PaginationConfig={"PageSize": min(100, limit or 100)},
            ):
                summaries.extend(page.get("ModelPackageSummaryList", []))
                if limit is not None and len(summaries) >= limit:
                    summaries = summaries[:limit]
                    break
            pool = self._executor()
            now = time.monotonic()
            futures: list[ModelPackage | Future[ModelPackage]] = []
            for summary in summaries:
                arn = str(summary["ModelPackageArn"])
                cached = self._package_cache.get(arn)
                if (
                    cached is not None
                    and cached.approval_status == summary.get("ModelApprovalStatus")
                    and now - cached.fetched_at < self.config.package_cache_ttl_seconds
                ):
                    futures.append(cached.package)
                else:
                    futures.append(pool.submit(self._fetch_package, arn))
            packages = [f if isinstance(f, ModelPackage) else f.result() for f in futures]
        packages.sort(key=lambda p: p.version, reverse=True)
        return packages

    def describe_model_package(self, version: int) -> ModelPackage:
        self._check_version(version)
        with aws_errors(f"model version {version} in group '{self.model_package_group}'"):
            return self._fetch_package(self.package_arn(version))

    @staticmethod
    def _check_version(version: int) -> None:
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise InvalidRequest(f"Model versions are positive integers, not {version!r}")

    def _fetch_package(self, arn: str) -> ModelPackage:
        data = self.sagemaker.describe_model_package(ModelPackageName=arn)
        package = self._package(data)
        self._package_cache[arn] = _CachedPackage(
            time.monotonic(), str(data.get("ModelApprovalStatus")), package
        )
        return package

    def _package(self, data: Mapping[str, Any]) -> ModelPackage:
        lineage = {str(k): str(v) for k, v in (data.get("CustomerMetadataProperties") or {}).items()}
        containers = (data.get("InferenceSpecification") or {}).get("Containers") or [{}]
        statistics = (
            ((data.get("ModelMetrics") or {}).get("ModelQuality") or {}).get("Statistics") or {}
        ).get("S3Uri")
        return ModelPackage(
            version=int(data["ModelPackageVersion"]),
            arn=str(data["ModelPackageArn"]),
            group=str(data.get("ModelPackageGroupName") or self.model_package_group),
            approval_status=ApprovalStatus(str(data.get("ModelApprovalStatus") or ApprovalStatus.PENDING)),
            created_at=data["CreationTime"],
            approval_description=data.get("ApprovalDescription") or None,
            metrics=self._metrics(str(statistics)) if statistics else {},
            artifact_uri=str(containers[0].get("ModelDataUrl") or ""),
            artifact_sha256=lineage.get("artifact_sha256", ""),
            lineage=lineage,
        )

    def _metrics(self, uri: str) -> dict[str, float]:
        cached = self._metrics_cache.get(uri)
        if cached is not None:
            return cached
        if not uri.startswith("s3://") or "/" not in uri[5:]:
            logger.warning("Ignoring model metrics at %r: not an s3://bucket/key URI", uri)
            return {}
        bucket, key = uri[5:].split("/", 1)
        try:
            body = self._client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
            report = json.loads(body)
        except (ClientError, BotoCoreError) as exc:
            # The version itself is still listed; a missing report only hides its numbers.
            logger.warning("Could not read model metrics: %s", translate_error(exc, uri))
            return {}
        except ValueError:
            logger.warning("Model metrics at %s are not valid JSON", uri)
            return {}
        metrics: dict[str, float] = {}
        classification = report.get("classification_metrics") if isinstance(report, dict) else None
        for name in METRIC_NAMES:
            entry = (classification or {}).get(name)
            value = entry.get("value") if isinstance(entry, dict) else None
            if isinstance(value, int | float) and not isinstance(value, bool):
                metrics[name] = float(value)
        self._metrics_cache[uri] = metrics
        return metrics

    def update_approval(self, version: int, status: ApprovalStatus, description: str) -> ModelPackage:
        self._check_version(version)
        status = ApprovalStatus(status)
        arn = self.package_arn(version)
        with aws_errors(f"model version {version} in group '{self.model_package_group}'"):
            current = self.sagemaker.describe_model_package(ModelPackageName=arn)
            request: dict[str, Any] = {
                "ModelPackageArn": arn,
                "ModelApprovalStatus": status.value,
                "ApprovalDescription": description[:1024],
            }
            # Re-sent every time: the lineage must survive the update whatever the service does.
            lineage = current.get("CustomerMetadataProperties") or {}
            if lineage:
                request["CustomerMetadataProperties"] = dict(lineage)
            self.sagemaker.update_model_package(**request)
            return self._fetch_package(arn)

    # -- endpoints ----------------------------------------------------------
    def endpoint_name(self, environment: Environment) -> str:
        return self.config.endpoint_name(self._env(environment))

    def describe_endpoint(self, environment: Environment) -> EndpointInfo:
        env = self._env(environment)
        name = self.config.endpoint_name(env)
        data = self._endpoint_or_none(name)
        if data is None:
            raise NotFound(f"Endpoint '{name}' ({env}) does not exist yet; deploying a version creates it")
        return self._endpoint_info(env, data)

    def _endpoint_or_none(self, name: str) -> dict[str, Any] | None:
        try:
            with aws_errors(f"endpoint '{name}'"):
                return dict(self.sagemaker.describe_endpoint(EndpointName=name))
        except NotFound:
            return None

    def _endpoint_info(self, env: Environment, data: Mapping[str, Any]) -> EndpointInfo:
        name = str(data["EndpointName"])
        parsed = naming.parse_config_name(name, str(data.get("EndpointConfigName", "")))
        return EndpointInfo(
            environment=env,
            name=name,
            status=_ENDPOINT_STATUS.get(str(data.get("EndpointStatus")), EndpointStatus.OUT_OF_SERVICE),
            version=parsed[0] if parsed else None,
            updated_at=data.get("LastModifiedTime"),
            failure_reason=data.get("FailureReason") or None,
        )

    def snapshot(self) -> PlatformSnapshot:
        """Versions and every environment's endpoint at once, for status views."""
        pool = self._executor()
        # Endpoint describes run in the pool while the listing (which fans out itself) runs here:
        # no pool task ever waits on another, so the bounded pool cannot deadlock.
        endpoints = {
            env: pool.submit(self._endpoint_or_none, self.config.endpoint_name(env)) for env in ENVIRONMENTS
        }
        packages = self.list_model_packages()
        infos: dict[Environment, EndpointInfo | None] = {}
        for env, future in endpoints.items():
            data = future.result()
            infos[env] = self._endpoint_info(env, data) if data is not None else None
        return PlatformSnapshot(packages=packages, endpoints=infos)

    def deploy(
        self,
        environment: Environment,
        version: int,
        deployed_by: str,
        *,
        progress: ProgressCallback | None = None,
    ) -> EndpointInfo:
        env = self._env(environment)
        self._check_version(version)
        endpoint = self.config.endpoint_name(env)
        target = f"endpoint '{endpoint}'"
        package = self.describe_model_package(version)
        if package.approval_status is not ApprovalStatus.APPROVED:
            status = package.approval_status.value
            raise InvalidRequest(f"Version {version} is {status}; only Approved versions can be deployed")
        current = self._endpoint_or_none(endpoint)
        self._check_idle(endpoint, current)

        started = datetime.now(UTC)
        name = naming.config_name(endpoint, version, started)
        resource_tags = naming.tags(
            {
                naming.TAG_VERSION: str(version),
                naming.TAG_ENVIRONMENT: env,
                naming.TAG_ENDPOINT: endpoint,
                naming.TAG_DEPLOYED_BY: deployed_by,
            }
        )
        created: list[tuple[str, str]] = []
        try:
            self.sagemaker.create_model(
                ModelName=name,
                ExecutionRoleArn=self.config.execution_role_arn,
                Containers=[{"ModelPackageName": package.arn}],
                Tags=resource_tags,
            )
            created.append(("model", name))
            self.sagemaker.create_endpoint_config(**self._endpoint_config_request(env, name, resource_tags))
            created.append(("endpoint config", name))
            if current is None:
                self.sagemaker.create_endpoint(
                    EndpointName=endpoint,
                    EndpointConfigName=name,
                    Tags=naming.tags({naming.TAG_ENVIRONMENT: env}),
                )
                created.append(("endpoint", endpoint))
            else:
                self._update_endpoint(env, endpoint, name, canary=True)
        except (ClientError, BotoCoreError) as exc:
            error = translate_error(exc, target)
            if not isinstance(exc, ClientError) and self._change_may_be_in_flight(endpoint, name):
                # A timeout may hide an accepted request: deleting its config now would break it.
                raise DeploymentFailed(
                    f"Deploying v{version} to {endpoint}: {error} The request may still be applied; "
                    "check the endpoint's status before retrying."
                ) from exc
            leftovers = self._cleanup(created)
            raise type(error)(str(error) + self._leftover_note(leftovers)) from exc

        try:
            final = self._wait_in_service(env, endpoint, progress)
        except _WaitTimedOut as exc:
            raise DeploymentFailed(
                f"{endpoint} is still {exc.status} after waiting for v{version}; SageMaker keeps going, "
                "check its status later"
            ) from exc
        except PlatformError as exc:
            if current is None:
                created.append(("failed endpoint", endpoint))
            leftovers = self._cleanup(created)
            raise DeploymentFailed(
                f"Deploying v{version} to {endpoint} failed: {exc}" + self._leftover_note(leftovers)
            ) from exc
        undone = self._rolled_back(env, final, name, started)
        if undone is not None:
            self._cleanup(created)  # the new config never served: nothing can roll back to it
            raise undone
        self._mark_served(name, {naming.TAG_SERVED_AT: datetime.now(UTC).isoformat()})
        if env == "production":
            self._configure_production(endpoint)
        return self._endpoint_info(env, final)

    def rollback(
        self,
        environment: Environment,
        version: int,
        deployed_by: str,
        *,
        progress: ProgressCallback | None = None,
    ) -> EndpointInfo:
        env = self._env(environment)
        self._check_version(version)
        endpoint = self.config.endpoint_name(env)
        target = f"endpoint '{endpoint}'"
        current = self._endpoint_or_none(endpoint)
        if current is None:
            raise NotFound(f"Endpoint '{endpoint}' ({env}) does not exist; there is nothing to roll back")
        self._check_idle(endpoint, current)
        serving = self._endpoint_info(env, current).version
        if serving == version:
            raise InvalidRequest(f"{endpoint} already serves v{version}")
        package = self.describe_model_package(version)
        if package.approval_status is ApprovalStatus.REJECTED:
            raise InvalidRequest(
                f"Version {version} was rejected; approve it again before rolling back to it"
            )
        with aws_errors(target):
            config = self._served_config(endpoint, version)
            if config is None:
                raise InvalidRequest(
                    f"Version {version} was never deployed to {endpoint}; deploy it instead of rolling back"
                )
            self._check_models_exist(config, version)
            started = datetime.now(UTC)
            self._update_endpoint(env, endpoint, config, canary=False)
        try:
            final = self._wait_in_service(env, endpoint, progress)
        except _WaitTimedOut as exc:
            raise DeploymentFailed(f"{endpoint} is still {exc.status} rolling back to v{version}") from exc
        except PlatformError as exc:
            raise DeploymentFailed(f"Rolling {endpoint} back to v{version} failed: {exc}") from exc
        undone = self._rolled_back(env, final, config, started)
        if undone is not None:
            raise undone
        self._mark_served(
            config,
            {naming.TAG_ROLLBACK_AT: datetime.now(UTC).isoformat(), naming.TAG_ROLLBACK_BY: deployed_by},
        )
        if env == "production":
            self._configure_production(endpoint)
        return self._endpoint_info(env, final)

    def _rolled_back(
        self, env: Environment, final: Mapping[str, Any], requested_config: str, since: datetime
    ) -> RolledBack | None:
        return deployments.rolled_back(
            environment=env,
            final=final,
            requested_config=requested_config,
            cloudwatch=self._client("cloudwatch"),
            configured_alarms=self.config.rollback_alarm_names,
            since=since,
        )

    def rolled_back_update(self, environment: Environment, version: int) -> RolledBack | None:
        """SageMaker's own rollback of the newest update towards ``version`` (see ``deployments``).

        That update's config never served (it carries no served-at tag), and the endpoint changed after
        the config was made yet is InService on another one: SageMaker took it back.
        """
        env = self._env(environment)
        endpoint = self.config.endpoint_name(env)
        with aws_errors(f"endpoint '{endpoint}'"):
            data = self._endpoint_or_none(endpoint)
            if data is None or data.get("EndpointStatus") != "InService":
                return None
            configs = self._endpoint_configs(endpoint, version)
            if not configs or data.get("EndpointConfigName") == configs[-1]["EndpointConfigName"]:
                return None
            newest = configs[-1]
            modified = data.get("LastModifiedTime")
            if not isinstance(modified, datetime) or modified < newest["CreationTime"]:
                return None  # the endpoint has not changed since: the update never began
            if naming.TAG_SERVED_AT in self._tags(str(newest["EndpointConfigArn"])):
                return None
            return self._rolled_back(env, data, str(newest["EndpointConfigName"]), newest["CreationTime"])

    def endpoint_history(self, environment: Environment) -> list[Deployment]:
        """Best-effort history from the endpoint configs' tags, oldest first."""
        env = self._env(environment)
        endpoint = self.config.endpoint_name(env)
        with aws_errors(f"endpoint '{endpoint}'"):
            configs = self._endpoint_configs(endpoint)
            pool = self._executor()
            tag_futures = [(c, pool.submit(self._tags, str(c["EndpointConfigArn"]))) for c in configs]
            history: list[Deployment] = []
            for summary, future in tag_futures:
                config_name = str(summary["EndpointConfigName"])
                parsed = naming.parse_config_name(endpoint, config_name)
                if parsed is None:
                    continue
                tag = future.result()
                served_at = naming.parse_time(tag.get(naming.TAG_SERVED_AT))
                if served_at is not None:
                    history.append(
                        Deployment(
                            env,
                            parsed[0],
                            served_at,
                            tag.get(naming.TAG_DEPLOYED_BY, ""),
                            "deploy",
                            config_name,
                        )
                    )
                rolled_at = naming.parse_time(tag.get(naming.TAG_ROLLBACK_AT))
                if rolled_at is not None:
                    history.append(
                        Deployment(
                            env,
                            parsed[0],
                            rolled_at,
                            tag.get(naming.TAG_ROLLBACK_BY, ""),
                            "rollback",
                            config_name,
                        )
                    )
        history.sort(key=lambda d: d.deployed_at)
        return history

    def validate(self, environment: Environment) -> dict[str, Any]:
        env = self._env(environment)
        info = self.describe_endpoint(env)
        if info.status is not EndpointStatus.IN_SERVICE:
            raise InvalidRequest(f"{info.name} is {info.status.value}; it can be validated once InService")
        # Imported here: validation pulls in the bundled sample data, which most commands never need.
        from ml.validate import runtime_invoker, validate_endpoint

        invoke = runtime_invoker(info.name, endpoint_url=self.config.endpoint_url, region=self.config.region)
        return validate_endpoint(
            invoke,
            threshold=self.config.validation_accuracy_threshold,
            latency_budget_ms=self.config.validation_latency_budget_ms,
            endpoint=info.name,
        )

    # -- events -------------------------------------------------------------
    def subscribe(self, listener: EventListener) -> None:
        """SageMaker's events reach the bot through EventBridge, not through this object."""

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
            clients, self._clients = self._clients, {}
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        for client in clients.values():
            client.close()

    # -- deployment internals ----------------------------------------------
    @staticmethod
    def _check_idle(endpoint: str, current: Mapping[str, Any] | None) -> None:
        if current is None:
            return
        status = str(current.get("EndpointStatus"))
        if status in _BUSY_ENDPOINT:
            raise InvalidRequest(f"{endpoint} is {status}; wait until it is InService")
        if status in ("Failed", "UpdateRollbackFailed"):
            reason = current.get("FailureReason") or "no reason given"
            raise InvalidRequest(
                f"{endpoint} is {status} ({reason}); it must be repaired or deleted in AWS first"
            )

    def _endpoint_config_request(
        self, env: Environment, name: str, resource_tags: list[dict[str, str]]
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            "EndpointConfigName": name,
            "ProductionVariants": [
                {
                    "VariantName": VARIANT_NAME,
                    "ModelName": name,
                    "InstanceType": self.config.instance_types[env],
                    "InitialInstanceCount": self.config.instance_counts[env],
                    "InitialVariantWeight": 1.0,
                }
            ],
            "Tags": resource_tags,
        }
        if env == "production" and self.config.data_capture_s3_uri:
            request["DataCaptureConfig"] = {
                "EnableCapture": True,
                "InitialSamplingPercentage": self.config.data_capture_sampling_percent,
                "DestinationS3Uri": self.config.data_capture_s3_uri,
                "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
                "CaptureContentTypeHeader": {
                    "CsvContentTypes": ["text/csv"],
                    "JsonContentTypes": ["application/json"],
                },
            }
        return request

    def deployment_config(self, *, canary: bool) -> dict[str, Any]:
        """The blue/green ``DeploymentConfig`` sent with every endpoint update."""
        cfg = self.config
        routing: dict[str, Any]
        if canary and cfg.deployment_strategy == "canary":
            routing = {
                "Type": "CANARY",
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": cfg.canary_size_percent},
                "WaitIntervalInSeconds": cfg.canary_wait_seconds,
            }
        else:
            routing = {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}
        deployment: dict[str, Any] = {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": routing,
                "TerminationWaitInSeconds": cfg.termination_wait_seconds,
                "MaximumExecutionTimeoutInSeconds": cfg.max_execution_timeout_seconds,
            }
        }
        if cfg.rollback_alarm_names:
            deployment["AutoRollbackConfiguration"] = {
                "Alarms": [{"AlarmName": alarm} for alarm in cfg.rollback_alarm_names]
            }
        return deployment

    def _update_endpoint(self, env: Environment, endpoint: str, config_name: str, *, canary: bool) -> None:
        # With autoscaling on, keep the fleet size it scaled to instead of dropping to the initial count.
        retain = env == "production" and self.config.autoscaling_enabled
        self.sagemaker.update_endpoint(
            EndpointName=endpoint,
            EndpointConfigName=config_name,
            RetainAllVariantProperties=retain,
            DeploymentConfig=self.deployment_config(canary=canary),
        )

    def _wait_in_service(
        self, env: Environment, endpoint: str, progress: ProgressCallback | None
    ) -> dict[str, Any]:
        """Poll with the ``endpoint_in_service`` waiter one attempt at a time, reporting progress."""
        waiter = self.sagemaker.get_waiter("endpoint_in_service")
        status = "unknown"
        for attempt in range(self.config.waiter_max_attempts):
            if attempt:
                self._sleep(self.config.waiter_delay_seconds)
            try:
                waiter.wait(EndpointName=endpoint, WaiterConfig={"Delay": 0, "MaxAttempts": 1})
            except WaiterError as exc:
                last = exc.last_response if isinstance(exc.last_response, dict) else {}
                status = str(last.get("EndpointStatus", "unknown"))
                error = last.get("Error")
                if isinstance(error, dict) and _transient(ClientError(last, "DescribeEndpoint"), endpoint):
                    continue  # throttled or a server error: the change goes on, so keep watching
                if error or status in ("Failed", "UpdateRollbackFailed", "OutOfService"):
                    reason = last.get("FailureReason") or last.get("Error", {}).get("Message")
                    raise DeploymentFailed(
                        f"{endpoint} became {status}: {reason or 'no reason given'}"
                    ) from exc
                if progress is not None and "EndpointName" in last:
                    progress(self._endpoint_info(env, last))
                continue
            except BotoCoreError as exc:  # a timeout or lost connection says nothing about the endpoint
                _transient(exc, endpoint)
                continue
            try:
                return dict(self.sagemaker.describe_endpoint(EndpointName=endpoint))
            except (ClientError, BotoCoreError) as exc:
                if not _transient(exc, endpoint):
                    raise translate_error(exc, f"endpoint '{endpoint}'") from exc
        raise _WaitTimedOut(status)

    def _change_may_be_in_flight(self, endpoint: str, config_name: str) -> bool:
        try:
            data = self._endpoint_or_none(endpoint)
        except PlatformError:
            return True
        if data is None:
            return False
        pending = (data.get("PendingDeploymentSummary") or {}).get("EndpointConfigName")
        return bool(
            data.get("EndpointConfigName") == config_name
            or pending == config_name
            or data.get("EndpointStatus") in _BUSY_ENDPOINT
        )

    def _cleanup(self, created: list[tuple[str, str]]) -> list[str]:
        """Delete what a failed deployment created, newest first; return what could not be deleted."""
        deleters: dict[str, Callable[[str], object]] = {
            "model": lambda n: self.sagemaker.delete_model(ModelName=n),
            "endpoint config": lambda n: self.sagemaker.delete_endpoint_config(EndpointConfigName=n),
            "endpoint": lambda n: self.sagemaker.delete_endpoint(EndpointName=n),
            "failed endpoint": lambda n: self.sagemaker.delete_endpoint(EndpointName=n),
        }
        leftovers: list[str] = []
        for kind, resource in reversed(created):
            try:
                deleters[kind](resource)
            except (ClientError, BotoCoreError) as exc:
                logger.error(
                    "Could not delete %s %s after a failed deployment; delete it by hand: %s",
                    kind,
                    resource,
                    translate_error(exc, f"{kind} '{resource}'"),
                )
                leftovers.append(f"{kind} {resource}")
            else:
                logger.info("Deleted %s %s after a failed deployment", kind, resource)
        return leftovers

    @staticmethod
    def _leftover_note(leftovers: list[str]) -> str:
        return f" (could not clean up: {', '.join(leftovers)})" if leftovers else ""

    def _tags(self, arn: str) -> dict[str, str]:
        pairs: list[dict[str, str]] = []
        paginator = self.sagemaker.get_paginator("list_tags")
        for page in paginator.paginate(ResourceArn=arn):
            pairs.extend(page.get("Tags", []))
        return naming.tag_map(pairs)

    def _mark_served(self, config_name: str, values: Mapping[str, str]) -> None:
        """Record on the config that it served traffic: rollback and history rely on it."""
        try:
            arn = self.sagemaker.describe_endpoint_config(EndpointConfigName=config_name)["EndpointConfigArn"]
            self.sagemaker.add_tags(ResourceArn=arn, Tags=naming.tags(dict(values)))
        except (ClientError, BotoCoreError) as exc:
            logger.error(
                "Endpoint config %s serves traffic but could not be tagged (rollbacks to it are refused): %s",
                config_name,
                translate_error(exc, f"endpoint config '{config_name}'"),
            )

    def _endpoint_configs(self, endpoint: str, version: int | None = None) -> list[dict[str, Any]]:
        """Configs this platform made for ``endpoint`` (and ``version``), oldest first."""
        prefix = naming.config_prefix(endpoint, version)
        found: list[dict[str, Any]] = []
        paginator = self.sagemaker.get_paginator("list_endpoint_configs")
        for page in paginator.paginate(NameContains=prefix, SortBy="CreationTime", SortOrder="Ascending"):
            for config in page.get("EndpointConfigs", []):
                parsed = naming.parse_config_name(endpoint, str(config["EndpointConfigName"]))
                if parsed is not None and (version is None or parsed[0] == version):
                    found.append(config)
        found.sort(key=lambda c: (c["CreationTime"], c["EndpointConfigName"]))
        return found

    def _served_config(self, endpoint: str, version: int) -> str | None:
        """The newest config of ``version`` that once served on ``endpoint``."""
        for config in reversed(self._endpoint_configs(endpoint, version)):
            if naming.TAG_SERVED_AT in self._tags(str(config["EndpointConfigArn"])):
                return str(config["EndpointConfigName"])
        return None

    def _check_models_exist(self, config_name: str, version: int) -> None:
        config = self.sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
        for variant in config.get("ProductionVariants", []):
            model = str(variant["ModelName"])
            try:
                self.sagemaker.describe_model(ModelName=model)
            except ClientError as exc:
                if isinstance(translate_error(exc, model), NotFound):
                    raise InvalidRequest(
                        f"The model behind v{version}'s earlier deployment ({model}) was deleted; "
                        "deploy the version again instead"
                    ) from exc
                raise

    def _configure_production(self, endpoint: str) -> None:
        """Autoscaling and monitoring; the endpoint already serves when these run."""
        problems: list[str] = []
        if self.config.autoscaling_enabled:
            try:
                with aws_errors(f"autoscaling of endpoint '{endpoint}'"):
                    self._register_autoscaling(endpoint)
            except PlatformError as exc:
                problems.append(str(exc))
        if self.config.model_monitor_enabled:
            try:
                with aws_errors(f"monitoring schedule of endpoint '{endpoint}'"):
                    self._ensure_monitoring_schedule(endpoint)
            except PlatformError as exc:
                problems.append(str(exc))
        if problems:
            raise DeploymentFailed(f"{endpoint} serves the new version, but: " + "; ".join(problems))

    def _register_autoscaling(self, endpoint: str) -> None:
        autoscaling = self._client("application-autoscaling")
        resource_id = f"endpoint/{endpoint}/variant/{VARIANT_NAME}"
        dimension = "sagemaker:variant:DesiredInstanceCount"
        autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=resource_id,
            ScalableDimension=dimension,
            MinCapacity=self.config.autoscaling_min_instances,
            MaxCapacity=self.config.autoscaling_max_instances,
        )
        autoscaling.put_scaling_policy(
            PolicyName=f"{endpoint}-invocations-per-instance",
            ServiceNamespace="sagemaker",
            ResourceId=resource_id,
            ScalableDimension=dimension,
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": float(self.config.autoscaling_target_invocations),
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                },
                "ScaleInCooldown": self.config.autoscaling_scale_in_cooldown_seconds,
                "ScaleOutCooldown": self.config.autoscaling_scale_out_cooldown_seconds,
            },
        )

    def monitoring_schedule_name(self, endpoint: str) -> str:
        return f"{endpoint}-data-quality"[:63]

    def _ensure_monitoring_schedule(self, endpoint: str) -> None:
        """One data-quality schedule per endpoint; it follows the endpoint across updates."""
        name = self.monitoring_schedule_name(endpoint)
        try:
            self.sagemaker.describe_monitoring_schedule(MonitoringScheduleName=name)
            return
        except ClientError as exc:
            if not isinstance(translate_error(exc, name), NotFound):
                raise
        cfg = self.config
        self.sagemaker.create_monitoring_schedule(
            MonitoringScheduleName=name,
            MonitoringScheduleConfig={
                "ScheduleConfig": {"ScheduleExpression": cfg.model_monitor_schedule_expression},
                "MonitoringType": "DataQuality",
                "MonitoringJobDefinition": {
                    "BaselineConfig": {
                        "ConstraintsResource": {"S3Uri": cfg.model_monitor_baseline_constraints_uri},
                        "StatisticsResource": {"S3Uri": cfg.model_monitor_baseline_statistics_uri},
                    },
                    "MonitoringInputs": [
                        {
                            "EndpointInput": {
                                "EndpointName": endpoint,
                                "LocalPath": "/opt/ml/processing/input/endpoint",
                            }
                        }
                    ],
                    "MonitoringOutputConfig": {
                        "MonitoringOutputs": [
                            {
                                "S3Output": {
                                    "S3Uri": cfg.model_monitor_output_s3_uri,
                                    "LocalPath": "/opt/ml/processing/output",
                                    "S3UploadMode": "EndOfJob",
                                }
                            }
                        ]
                    },
                    "MonitoringResources": {
                        "ClusterConfig": {
                            "InstanceCount": 1,
                            "InstanceType": cfg.model_monitor_instance_type,
                            "VolumeSizeInGB": 20,
                        }
                    },
                    "MonitoringAppSpecification": {"ImageUri": cfg.model_monitor_image_uri},
                    "RoleArn": cfg.execution_role_arn,
                },
            },
            Tags=naming.tags({naming.TAG_ENDPOINT: endpoint}),
        )
