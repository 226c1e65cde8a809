"""``LocalPlatform``: the ML platform protocol on one machine, no AWS.

Layout of a platform home::

    home/registry.db                        state: registry, executions, endpoints (SQLite, WAL)
    home/artifacts/executions/<id>/...      each run's intermediate outputs
    home/artifacts/models/v<N>/             registered versions: xgboost-model, features.json,
                                            evaluation.json, baseline/, features/
    home/endpoints.json                     the running endpoint host (pid, port, url)
    home/logs/endpoint-host.log             its log
    home/logs/runs/<id>.log                 each run's steps and what they logged (``run_log``)
    home/capture/<endpoint>/<variant>/...   sampled invocations, as SageMaker's data capture (``capture``)
    home/alarms.json, home/chaos.json       rollback alarm states (``rollout``), the chaos switch (``chaos``)
    home/run/<token>.lock                   liveness locks of processes owning runs

Pipeline runs execute in this process's background threads (``runs``, ``pipeline``), and record the
git commit of the checkout they run from (``source``). Endpoints are served by an endpoint host
(``ml.local.endpoints``): by default its own process, started on the first deploy and left running so
endpoints outlive the command that deployed them; with ``host_endpoints_in_process=True`` a server in
this process (tests, long-running bot processes). Changes to endpoints go through ``endpoint_changes``
(gradual ones ``rollout_engine``, instant rollbacks ``warm_standby``); events through ``announcer``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ml.clock import SYSTEM_CLOCK, Clock
from ml.drift import stored
from ml.parameters import DEFAULT_ACCURACY_THRESHOLD, RunPolicy
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
    NotFound,
    ParameterSpec,
    PlatformError,
    RolledBack,
)
from ml.rollout_policy import AT_ONCE, RolloutPolicy
from ml.rollout_state import RollbackPath, RolloutProgress, WarmStandby

from . import parameters as run_parameters
from . import rollout, rollout_engine, rollout_progress, version_files, warm_standby
from .announcer import Announcer
from .artifact import artifact_identity
from .capture import CaptureSettings
from .endpoint_changes import INTERRUPTED_DEPLOY, EndpointChanges, recover_endpoints
from .endpoint_validation import DEFAULT_ROWS, validate_served
from .endpoints import (
    EndpointHost,
    ensure_host_process,
    remove_host_record,
    stop_host_process,
    write_host_record,
)
from .events import EventBus
from .parameters import version_number
from .pipeline import PipelineRunner
from .registry import OwnerToken, Registry
from .run_limits import RunLimits
from .runs import INTERRUPTED, Runs
from .source import code_root, detect

__all__ = ["DEFAULT_THRESHOLD", "INTERRUPTED", "INTERRUPTED_DEPLOY", "LocalPlatform"]

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = DEFAULT_ACCURACY_THRESHOLD


class LocalPlatform:
    """The ML platform protocol (``ml.platform.MLPlatform``) backed by local files and threads."""

    name = "local"

    def __init__(
        self,
        home: Path,
        *,
        model_package_group: str = "mlops-xgboost",
        pipeline_name: str = "mlops-xgboost-pipeline",
        endpoint_host: str = "127.0.0.1",
        endpoint_port: int = 0,
        host_endpoints_in_process: bool = False,
        max_concurrent_executions: int = 1,
        deploy_timeout: float = 60.0,
        rollback_alarm_names: tuple[str, ...] = (),
        run_limits: RunLimits | None = None,
        data_dir: Path | None = None,
        policy: RunPolicy | None = None,
        validation_rows: int = DEFAULT_ROWS,
        clock: Clock = SYSTEM_CLOCK,
        source_root: Path | None = None,
        capture: CaptureSettings | None = None,
        rollouts: Mapping[Environment, RolloutPolicy] | None = None,
        warm_rollback: timedelta | None = None,
    ) -> None:
        """``rollouts``: policies of deploys naming none; ``warm_rollback``: how long a promote keeps
        the replaced version warm (None: not at all)."""
        self.home = Path(home).expanduser().resolve()
        self.home.mkdir(parents=True, exist_ok=True)
        #: where InputData may point (besides the bundled data set)
        self.data_dir = Path(data_dir).expanduser() if data_dir is not None else self.home / "data"
        self.model_package_group = model_package_group
        self.pipeline_name = pipeline_name
        #: held-out rows each staging validation sends
        self.validation_rows = validation_rows
        #: the checkout whose commit runs record (default: the one holding the ``ml`` package)
        root = Path(source_root) if source_root is not None else code_root()
        self._endpoint_port = endpoint_port
        #: data capture of the endpoint host this platform starts (``MLOPS_CAPTURE_*``)
        self.capture = capture or CaptureSettings()
        self._closed = False
        self.rollouts = dict(rollouts or {})
        self._registry = Registry(self.home / "registry.db", clock)
        self._bus = EventBus()
        self._owner = OwnerToken(self.home / "run")
        self._announce = Announcer(self._registry, self._bus, pipeline_name)
        self._runner = PipelineRunner(
            registry=self._registry,
            announce=self._announce,
            home=self.home,
            pipeline_name=pipeline_name,
            group=model_package_group,
            max_concurrent=max_concurrent_executions,
        )
        self._runs = Runs(
            registry=self._registry,
            announce=self._announce,
            owner=self._owner,
            runner=self._runner,
            pipeline_name=pipeline_name,
            run_limits=run_limits or RunLimits(),
            policy=policy or RunPolicy(),
            clock=clock,
            source=lambda: detect(root),
        )
        # What a dead process left half done fails before any host serves from the registry.
        self._runs.recover()
        recover_endpoints(self._registry, self._owner, self._announce)
        self._host: EndpointHost | None = None
        if host_endpoints_in_process:
            self._host = EndpointHost(
                self._registry,
                self.home,
                host=endpoint_host,
                port=endpoint_port,
                clock=clock,
                capture=self.capture,
            ).start()
            write_host_record(self.home, self._host, clock)
        self._endpoints = EndpointChanges(
            registry=self._registry,
            announce=self._announce,
            owner=self._owner,
            home=self.home,
            group=model_package_group,
            host=self._host,
            endpoint_port=endpoint_port,
            deploy_timeout=deploy_timeout,
            rollback_alarm_names=tuple(rollback_alarm_names),
            clock=clock,
            capture=self.capture,
            warm_rollback=warm_rollback,
        )

    @property
    def rollback_alarm_names(self) -> tuple[str, ...]:
        """Alarms (``home/alarms.json``) that roll an update back, as AutoRollbackConfiguration does."""
        return self._endpoints.rollback_alarm_names

    # -- lifecycle ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop runs at their next step boundary, stop the in-process endpoint host, release the home."""
        if self._closed:
            return
        self._closed = True
        self._runs.stop_own()
        self._runner.close()
        if self._host is not None:
            remove_host_record(self.home, self._host)
            self._host.stop()
        self._bus.close()
        self._owner.release()
        self._registry.close()

    def __enter__(self) -> LocalPlatform:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise PlatformError("this LocalPlatform is closed")

    # -- events ------------------------------------------------------------------------------------

    def subscribe(self, listener: EventListener) -> None:
        self._bus.subscribe(listener)

    def flush_events(self, timeout: float = 10.0) -> bool:
        """Wait until listeners have received every event published so far; False on timeout."""
        return self._bus.flush(timeout)

    # -- pipelines ---------------------------------------------------------------------------------

    def pipeline_parameters(self) -> Mapping[str, ParameterSpec]:
        return run_parameters.specs()

    def start_pipeline(
        self, parameters: Mapping[str, str], requested_by: str, git_sha: str | None = None
    ) -> Execution:
        self._check_open()
        return self._runs.start(parameters, requested_by, git_sha, self.data_dir)

    def describe_execution(self, execution_id: str) -> Execution:
        return self._runs.describe(execution_id)

    def list_executions(self, limit: int = 20, *, parameters: bool = True) -> list[Execution]:
        return self._runs.list(limit)

    def stop_execution(self, execution_id: str) -> Execution:
        self._check_open()
        return self._runs.stop(execution_id)

    # -- model registry ------------------------------------------------------------------------------

    def list_model_packages(self, limit: int | None = None) -> list[ModelPackage]:
        packages = self._registry.list_model_packages(self.model_package_group)
        return packages if limit is None else packages[:limit]

    def describe_model_package(self, version: int) -> ModelPackage:
        return self._registry.describe_model_package(self.model_package_group, version_number(version))

    def artifact_identity(self, version: int) -> ArtifactIdentity:
        """The registry's ARN, the model file's SHA-256, the serving code's digest (``artifact``)."""
        package = self.describe_model_package(version)
        return artifact_identity(package, Path(unquote(urlsplit(package.artifact_uri).path)))

    def baseline(self, version: int) -> dict[str, Any] | None:
        return version_files.baseline(self._version_folder(version))

    def evaluation(self, version: int) -> dict[str, Any] | None:
        return version_files.evaluation(self._version_folder(version))

    def _version_folder(self, version: int) -> Path:
        return Path(unquote(urlsplit(self.describe_model_package(version).artifact_uri).path))

    def captured_traffic(self, environment: Environment, since: datetime | None) -> Iterator[bytes]:
        """``home/capture/<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl``, as SageMaker lays out its prefix."""
        folder = self.home / "capture" / self.endpoint_name(environment)
        for path in stored.capture_files(folder, since):
            yield path.read_bytes()

    def update_approval(self, version: int, status: ApprovalStatus, description: str) -> ModelPackage:
        self._check_open()
        try:
            status = ApprovalStatus(status)
        except ValueError:
            choices = ", ".join(str(s) for s in ApprovalStatus)
            raise InvalidRequest(f"approval status {status!r} is not one of: {choices}") from None
        package = self._registry.update_approval(
            self.model_package_group, version_number(version), status, description
        )
        modified = self._registry.package_modified_at(self.model_package_group, package.version)
        self._announce.model_package(
            package, modified, updated_fields=("ModelApprovalStatus", "ApprovalDescription")
        )
        return package

    def update_life_cycle(self, version: int, life_cycle: LifeCycle) -> ModelPackage:
        self._check_open()
        package = self._registry.update_life_cycle(
            self.model_package_group, version_number(version), life_cycle
        )
        modified = self._registry.package_modified_at(self.model_package_group, package.version)
        self._announce.model_package(package, modified, updated_fields=("ModelLifeCycle",))
        return package

    # -- endpoints ---------------------------------------------------------------------------------

    def endpoint_name(self, environment: Environment) -> str:
        if environment not in ENVIRONMENTS:
            raise InvalidRequest(
                f"unknown environment {environment!r}; use one of: {', '.join(ENVIRONMENTS)}"
            )
        return f"{self.model_package_group}-{environment}"

    @property
    def endpoint_url(self) -> str:
        """Base URL of the endpoint host (the ``endpoint_url`` of a sagemaker-runtime client).

        Out of process, this starts the host if none runs: endpoints come back after a reboot.
        """
        self._check_open()
        if self._host is not None:
            return self._host.url
        return ensure_host_process(
            self.home, port=self._endpoint_port, clock=self._registry.clock, capture=self.capture
        ).url

    def flush_capture(self, timeout: float) -> bool:
        """Wait until the in-process endpoint host wrote what it captured; False if time ran out.

        A host in another process writes on its own schedule; there is nothing to wait for here.
        """
        writer = self._host.capture if self._host is not None else None
        return writer.flush(timeout) if writer is not None else True

    def stop_endpoint_host(self) -> bool:
        """Stop this home's endpoint host process (endpoints stop answering); False if none ran."""
        return stop_host_process(self.home, clock=self._registry.clock)

    def deploy(
        self,
        environment: Environment,
        version: int,
        deployed_by: str,
        rollout: RolloutPolicy | None = None,
    ) -> EndpointInfo:
        self._check_open()
        name = self.endpoint_name(environment)
        package = self.describe_model_package(version)
        policy = rollout or self.rollouts.get(environment) or AT_ONCE
        return self._endpoints.deploy(environment, name, package, deployed_by, policy).info()

    def rollback(self, environment: Environment, version: int, deployed_by: str) -> EndpointInfo:
        self._check_open()
        name, number = self.endpoint_name(environment), version_number(version)
        return self._endpoints.rollback(
            environment, name, number, deployed_by, self.describe_model_package
        ).info()

    def rollback_path(self, environment: Environment, version: int) -> RollbackPath:
        return warm_standby.path(
            self._registry, self._registry.clock, self.endpoint_name(environment), version
        )

    def rollout_progress(self, environment: Environment) -> RolloutProgress | None:
        name = self.endpoint_name(environment)
        return rollout_progress.progress(self._registry, self._endpoints.link, environment, name)

    def stop_rollout(self, environment: Environment, stopped_by: str) -> str:
        return rollout_engine.request(self._registry, self.endpoint_name(environment), "stop", stopped_by)

    def finish_rollout(self, environment: Environment, finished_by: str) -> str:
        return rollout_engine.request(self._registry, self.endpoint_name(environment), "finish", finished_by)

    def warm_standby(self, environment: Environment) -> WarmStandby | None:
        name = self.endpoint_name(environment)
        return warm_standby.standby(self._registry, self._registry.clock, environment, name)

    def retire_warm(self, environment: Environment) -> bool:
        name = self.endpoint_name(environment)
        return warm_standby.retire(self._registry, self._endpoints.link, self._registry.clock, name)

    def rolled_back_update(self, environment: Environment, version: int) -> RolledBack | None:
        return rollout.last_rollback(self._registry, environment, self.endpoint_name(environment), version)

    def describe_endpoint(self, environment: Environment) -> EndpointInfo:
        name = self.endpoint_name(environment)
        row = self._registry.get_endpoint(name)
        if row is None:
            raise NotFound(f"the {environment} endpoint ({name}) does not exist yet: deploy a version first")
        return row.info()

    def endpoint_history(self, environment: Environment) -> list[Deployment]:
        return self._registry.deployments(self.endpoint_name(environment))

    def validate(self, environment: Environment) -> dict[str, Any]:
        """Run ``ml.validate`` through the runtime API of the endpoint host, as against SageMaker."""
        info = self.describe_endpoint(environment)
        if info.status is not EndpointStatus.IN_SERVICE or info.version is None:
            raise InvalidRequest(
                f"the {environment} endpoint is {info.status}: it must be InService to validate"
            )
        threshold = DEFAULT_THRESHOLD
        lineage_threshold = self.describe_model_package(info.version).lineage.get("threshold")
        if lineage_threshold:
            threshold = float(lineage_threshold)
        return validate_served(
            info, self.endpoint_url, threshold, self._registry.clock, rows=self.validation_rows
        )
