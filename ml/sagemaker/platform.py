"""``MLPlatform`` on AWS: SageMaker Pipelines, Model Registry and real-time endpoints, through boto3.

``SageMakerPlatform`` is the one public face; each concern lives in its own module and object:
``clients`` (boto3 clients, retries, the fan-out pool), ``pipelines`` (executions), ``registry``
(model packages, approvals, metrics), ``endpoints`` (reading and waiting), ``rollout`` (deploy and
rollback) and ``production`` (autoscaling, data capture, monitoring). Time is read and waited on
through one injected ``Clock``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import boto3

from ml.clock import SYSTEM_CLOCK, Clock
from ml.platform import (
    ENVIRONMENTS,
    ApprovalStatus,
    ArtifactIdentity,
    Deployment,
    EndpointInfo,
    EndpointStatus,
    Environment,
    EventListener,
    Execution,
    InvalidRequest,
    LifeCycle,
    ModelPackage,
    ParameterSpec,
    RolledBack,
)
from ml.rollout_policy import RolloutPolicy
from ml.rollout_state import RollbackPath, RolloutProgress, WarmStandby
from ml.sagemaker.clients import AwsClients, check_environment
from ml.sagemaker.config import SageMakerConfig

if TYPE_CHECKING:
    from ml.drift.environment import EnvironmentDrift
    from ml.sagemaker.endpoints import Endpoints, ProgressCallback
    from ml.sagemaker.pipelines import Pipelines
    from ml.sagemaker.production import Production
    from ml.sagemaker.progress import Progress
    from ml.sagemaker.registry import PackageFacts, Registry
    from ml.sagemaker.rollout import Rollout

__all__ = ["PlatformSnapshot", "SageMakerPlatform"]

_Part = TypeVar("_Part")


@dataclass(frozen=True)
class PlatformSnapshot:
    """Everything ``/mlops status`` shows, fetched in one go."""

    packages: list[ModelPackage]
    #: None for an environment whose endpoint does not exist yet
    endpoints: dict[Environment, EndpointInfo | None] = field(default_factory=dict)


class SageMakerPlatform:
    """The SageMaker implementation of ``ml.platform.MLPlatform``."""

    name = "sagemaker"

    def __init__(
        self,
        config: SageMakerConfig,
        session: boto3.Session | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
        sleep: Callable[[float], None] | None = None,
        facts: PackageFacts | None = None,
    ) -> None:
        """``clock`` supplies the time and the waiters' sleep; ``sleep`` alone replaces just the latter.

        ``facts``: where described versions are remembered across processes (the bot's store), so a
        listing describes only versions new or changed since."""
        if sleep is not None:
            clock = replace(clock, sleep=sleep)
        self.config = config
        self.model_package_group = config.model_package_group
        self.pipeline_name = config.pipeline_name
        self.clock = clock
        self.aws = AwsClients(config, session)
        self._facts = facts
        # Each part (and its module) is built on first use: a Slack-only start, such as Lambda's
        # init, reaches none of them. Reentrant: the rollout part builds the parts it works with.
        self._parts: dict[str, Any] = {}
        self._parts_lock = threading.RLock()

    def _part(self, name: str, build: Callable[[], _Part]) -> _Part:
        part = self._parts.get(name)
        if part is None:
            with self._parts_lock:
                part = self._parts.get(name)
                if part is None:
                    part = self._parts[name] = build()
        return part

    @property
    def pipelines(self) -> Pipelines:
        return self._part("pipelines", self._build_pipelines)

    @property
    def registry(self) -> Registry:
        return self._part("registry", self._build_registry)

    @property
    def endpoints(self) -> Endpoints:
        return self._part("endpoints", self._build_endpoints)

    @property
    def production(self) -> Production:
        return self._part("production", self._build_production)

    @property
    def rollout(self) -> Rollout:
        return self._part("rollout", self._build_rollout)

    @property
    def progress(self) -> Progress:
        return self._part("progress", self._build_progress)

    def _build_pipelines(self) -> Pipelines:
        from ml.sagemaker.pipelines import Pipelines

        return Pipelines(self.aws, self.clock)

    def _build_registry(self) -> Registry:
        from ml.sagemaker.registry import Registry

        return Registry(self.aws, self.clock, self._facts)

    def _build_endpoints(self) -> Endpoints:
        from ml.sagemaker.endpoints import Endpoints

        return Endpoints(self.aws, self.clock)

    def _build_production(self) -> Production:
        from ml.sagemaker.production import Production

        return Production(self.aws)

    def _build_rollout(self) -> Rollout:
        from ml.sagemaker.rollout import Rollout

        def wait(env: Environment, endpoint: str, progress: ProgressCallback | None) -> dict[str, Any]:
            # Looked up on each call, so ``_wait_in_service`` stays one seam a test can replace.
            return self._wait_in_service(env, endpoint, progress)

        return Rollout(self.aws, self.clock, self.registry, self.endpoints, self.production, wait)

    def _build_progress(self) -> Progress:
        from ml.sagemaker.progress import Progress

        return Progress(self.aws, self.clock, self.endpoints)

    # -- clients --------------------------------------------------------------
    @property
    def sagemaker(self) -> Any:
        return self.aws.sagemaker

    def _client(self, service: str) -> Any:
        return self.aws.client(service)

    def close(self) -> None:
        self.aws.close()

    def _wait_in_service(
        self, env: Environment, endpoint: str, progress: ProgressCallback | None
    ) -> dict[str, Any]:
        """Where a deploy or rollback waits for the endpoint's change to end."""
        return self.endpoints.wait_in_service(env, endpoint, progress)

    # -- pipelines ------------------------------------------------------------
    def pipeline_parameters(self) -> Mapping[str, ParameterSpec]:
        from ml.sagemaker.parameters import PIPELINE_PARAMETERS

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
        return self.pipelines.start(parameters, requested_by, git_sha, client_token)

    def describe_execution(self, execution_id: str) -> Execution:
        return self.pipelines.describe(execution_id)

    def list_executions(self, limit: int = 20, *, parameters: bool = True) -> list[Execution]:
        """Newest first, without steps (``describe_execution`` has them); ``parameters=False`` also
        leaves out their parameters, one call per run."""
        return self.pipelines.list(limit, parameters=parameters)

    def stop_execution(self, execution_id: str) -> Execution:
        return self.pipelines.stop(execution_id)

    # -- model registry -------------------------------------------------------
    def package_arn(self, version: int) -> str:
        return self.registry.package_arn(version)

    def list_model_packages(self, limit: int | None = None) -> list[ModelPackage]:
        """Versions of the group, newest first; with ``limit`` only the newest ``limit``."""
        return self.registry.list(limit)

    def describe_model_package(self, version: int) -> ModelPackage:
        return self.registry.describe(version)

    def update_approval(self, version: int, status: ApprovalStatus, description: str) -> ModelPackage:
        return self.registry.update_approval(version, status, description)

    def update_life_cycle(self, version: int, life_cycle: LifeCycle) -> ModelPackage:
        return self.registry.update_life_cycle(version, life_cycle)

    def baseline(self, version: int) -> dict[str, Any] | None:
        return self.registry.baseline(version)

    def evaluation(self, version: int) -> dict[str, Any] | None:
        return self.registry.evaluation(version)

    def artifact_identity(self, version: int) -> ArtifactIdentity:
        """DescribeModelPackage's ARN, the model data's SHA-256 and the image digest (``artifact``)."""
        from ml.sagemaker.artifact import identity_of

        return identity_of(self.registry.describe_raw(version), self._client("s3"))

    def captured_traffic(self, environment: Environment, since: datetime | None) -> Iterator[bytes]:
        """What the endpoint captured under ``data_capture_s3_uri`` (production's data capture)."""
        from ml.sagemaker.capture_files import capture_objects

        destination = self.config.data_capture_s3_uri
        if not destination:
            raise InvalidRequest("data capture is off (no data_capture_s3_uri): pass rows with --data")
        return capture_objects(self._client("s3"), destination, self.endpoint_name(environment), since)

    def publish_drift(self, found: EnvironmentDrift, at: datetime) -> None:
        """The check's PSI as ``mlops/DriftPSI`` in CloudWatch (``ml.drift.metrics``)."""
        from ml.sagemaker.metrics import put_drift_metrics

        put_drift_metrics(self._client("cloudwatch"), found, at)

    # -- endpoints ------------------------------------------------------------
    def endpoint_name(self, environment: Environment) -> str:
        return self.config.endpoint_name(check_environment(environment))

    def describe_endpoint(self, environment: Environment) -> EndpointInfo:
        return self.endpoints.describe(environment)

    def snapshot(self) -> PlatformSnapshot:
        """Versions and every environment's endpoint at once, for status views."""
        pool = self.aws.executor()
        # Endpoint describes run in the pool while the listing (which fans out itself) runs here:
        # no pool task ever waits on another, so the bounded pool cannot deadlock.
        futures: dict[Environment, Future[dict[str, Any] | None]] = {
            env: pool.submit(self.endpoints.or_none, self.config.endpoint_name(env)) for env in ENVIRONMENTS
        }
        packages = self.registry.list()
        infos: dict[Environment, EndpointInfo | None] = {}
        for env, future in futures.items():
            data = future.result()
            infos[env] = self.endpoints.info(env, data) if data is not None else None
        return PlatformSnapshot(packages=packages, endpoints=infos)

    def deploy(
        self,
        environment: Environment,
        version: int,
        deployed_by: str,
        rollout: RolloutPolicy | None = None,
        *,
        progress: ProgressCallback | None = None,
    ) -> EndpointInfo:
        return self.rollout.deploy(environment, version, deployed_by, rollout=rollout, progress=progress)

    def rollback(
        self,
        environment: Environment,
        version: int,
        deployed_by: str,
        *,
        progress: ProgressCallback | None = None,
    ) -> EndpointInfo:
        return self.rollout.rollback(environment, version, deployed_by, progress=progress)

    def rollback_path(self, environment: Environment, version: int) -> RollbackPath:
        """A weight shift when ``version`` is kept warm within its window, else a blue/green redeploy."""
        return self.rollout.warm.path(environment, version)

    def rollout_progress(self, environment: Environment) -> RolloutProgress | None:
        return self.progress.progress(environment)

    def stop_rollout(self, environment: Environment, stopped_by: str) -> str:
        """Puts the first rollback alarm in ALARM: SageMaker then rolls the update back."""
        return self.progress.stop(environment, stopped_by)

    def finish_rollout(self, environment: Environment, finished_by: str) -> str:
        """Always refused: SageMaker runs a blue/green update to its end."""
        return self.progress.finish(environment, finished_by)

    def warm_standby(self, environment: Environment) -> WarmStandby | None:
        return self.rollout.warm.standby(environment)

    def retire_warm(self, environment: Environment) -> bool:
        return self.rollout.warm.retire(environment)

    def rolled_back_update(self, environment: Environment, version: int) -> RolledBack | None:
        """SageMaker's own rollback of the newest update towards ``version`` (see ``deployments``)."""
        return self.endpoints.rolled_back_update(environment, version)

    def endpoint_history(self, environment: Environment) -> list[Deployment]:
        """Best-effort history from the endpoint configs' tags, oldest first."""
        return self.endpoints.history(environment)

    def deployment_config(
        self, environment: Environment, rollout: RolloutPolicy | None = None
    ) -> dict[str, Any]:
        """The blue/green ``DeploymentConfig`` a deploy to ``environment`` sends."""
        from ml.sagemaker.traffic import deployment_config

        policy = rollout or self.config.rollout(check_environment(environment))
        return deployment_config(policy, self.config.rollback_alarm_names)

    def monitoring_schedule_name(self, endpoint: str) -> str:
        from ml.sagemaker.production import monitoring_schedule_name

        return monitoring_schedule_name(endpoint)

    def validate(self, environment: Environment) -> dict[str, Any]:
        info = self.describe_endpoint(check_environment(environment))
        if info.status is not EndpointStatus.IN_SERVICE:
            raise InvalidRequest(f"{info.name} is {info.status.value}; it can be validated once InService")
        # Imported here: validation pulls in the bundled sample data, which most commands never need.
        from ml.validate import runtime_invoker, validate_endpoint

        invoke = runtime_invoker(info.name, endpoint_url=self.config.endpoint_url, region=self.config.region)
        return validate_endpoint(
            invoke,
            threshold=self.config.validation_accuracy_threshold,
            latency_budget_ms=self.config.validation_latency_budget_ms,
            sample_size=self.config.validation_rows,
            endpoint=info.name,
        )

    # -- events ---------------------------------------------------------------
    def subscribe(self, listener: EventListener) -> None:
        """SageMaker's events reach the bot through EventBridge, not through this object."""
