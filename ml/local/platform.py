"""``LocalPlatform``: the ML platform protocol on one machine, no AWS.

Layout of a platform home::

    home/registry.db                        state: registry, executions, endpoints (SQLite, WAL)
    home/artifacts/executions/<id>/...      each run's intermediate outputs
    home/artifacts/models/v<N>/             registered versions: xgboost-model, features.json,
                                            evaluation.json, baseline/, features/
    home/endpoints.json                     the running endpoint host (pid, port, url)
    home/logs/endpoint-host.log             its log
    home/run/<token>.lock                   liveness locks of processes owning runs

Pipeline runs execute in this process's background threads. Endpoints are served by an endpoint host
(``ml.local.endpoints``): by default its own process, started on the first deploy and left running so
endpoints outlive the command that deployed them; with ``host_endpoints_in_process=True`` a server
inside this process instead (tests, and long-running bot processes).
"""

from __future__ import annotations

import difflib
import logging
import math
import secrets
import string
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

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
    StepStatus,
)

from . import events, rollout
from .endpoints import (
    EndpointHost,
    ensure_host_process,
    host_status,
    remove_host_record,
    stop_host_process,
    write_host_record,
)
from .events import EventBus
from .pipeline import PipelineRunner, RunRequest
from .registry import EndpointRow, OwnerToken, Registry, utcnow
from .run_limits import RunLimits

log = logging.getLogger(__name__)

INTERRUPTED = "interrupted: the process running it stopped"
INTERRUPTED_DEPLOY = "interrupted: the process deploying it stopped"
DEFAULT_TARGET = "income"
DEFAULT_THRESHOLD = 0.8
_ID_ALPHABET = string.ascii_lowercase + string.digits


def _bundled_training_data() -> str:
    from ml import datasets

    try:
        return str(datasets.adult_train_path())
    except FileNotFoundError:
        return ""


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
    ) -> None:
        self.home = Path(home).expanduser().resolve()
        self.home.mkdir(parents=True, exist_ok=True)
        self.model_package_group = model_package_group
        self.pipeline_name = pipeline_name
        self._endpoint_bind = endpoint_host
        self._endpoint_port = endpoint_port
        self._deploy_timeout = deploy_timeout
        #: alarms (``home/alarms.json``) that roll an update back, as AutoRollbackConfiguration does
        self.rollback_alarm_names = tuple(rollback_alarm_names)
        self._run_limits = run_limits or RunLimits()
        self._closed = False
        self._endpoint_lock = threading.Lock()
        self._registry = Registry(self.home / "registry.db")
        self._bus = EventBus()
        self._owner = OwnerToken(self.home / "run")
        self._recover()
        self._runner = PipelineRunner(
            registry=self._registry,
            bus=self._bus,
            home=self.home,
            pipeline_name=pipeline_name,
            group=model_package_group,
            max_concurrent=max_concurrent_executions,
        )
        self._host: EndpointHost | None = None
        if host_endpoints_in_process:
            self._host = EndpointHost(
                self._registry, self.home, host=endpoint_host, port=endpoint_port
            ).start()
            write_host_record(self.home, self._host)

    # -- lifecycle ---------------------------------------------------------------------------------

    def _recover(self) -> None:
        """Fail what a dead process left half done, so nothing stays Executing/Updating forever."""
        for execution_id, pipeline, owner in self._registry.unfinished_executions():
            if self._owner.alive(owner):
                continue
            execution = self._registry.get_execution(execution_id)
            now = utcnow()
            for step in execution.steps:
                if step.status in (StepStatus.STARTING, StepStatus.EXECUTING, StepStatus.STOPPING):
                    self._registry.set_step(
                        execution_id, step.name, StepStatus.FAILED, ended_at=now, failure_reason=INTERRUPTED
                    )
            previous = self._registry.set_execution_status(
                execution_id,
                ExecutionStatus.FAILED,
                only_from=(ExecutionStatus.EXECUTING, ExecutionStatus.STOPPING),
                ended_at=now,
                failure_reason=INTERRUPTED,
            )
            if previous is not None:
                log.warning(
                    "execution %s was left %s by a dead process: marked Failed", execution_id, previous
                )
                self._publish_execution(execution_id, pipeline, ExecutionStatus.FAILED, previous)
        for row in self._registry.list_endpoints():
            if row.status in (EndpointStatus.CREATING, EndpointStatus.UPDATING) and not (
                row.owner and self._owner.alive(row.owner)
            ):
                failed = self._registry.fail_endpoint_change(row.name, INTERRUPTED_DEPLOY)
                self._publish_endpoint(failed)

    def close(self) -> None:
        """Stop runs at their next step boundary, stop the in-process endpoint host, release the home."""
        if self._closed:
            return
        self._closed = True
        for execution_id, _pipeline, owner in self._registry.unfinished_executions():
            if owner == self._owner.token:
                self._request_stop(execution_id)
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

    def _publish_execution(
        self, execution_id: str, pipeline: str, current: ExecutionStatus, previous: ExecutionStatus | None
    ) -> None:
        execution = self._registry.get_execution(execution_id)
        self._bus.publish(
            events.execution_status_event(
                pipeline_name=pipeline,
                execution_id=execution_id,
                display_name=self._registry.execution_display_name(execution_id),
                current=current,
                previous=previous,
                started_at=execution.started_at,
                ended_at=execution.ended_at,
                failure_reason=execution.failure_reason,
            )
        )

    def _publish_endpoint(self, row: EndpointRow) -> None:
        self._bus.publish(
            events.endpoint_state_event(
                endpoint_name=row.name,
                config_name=row.config_name,
                status=row.status,
                created_at=row.created_at,
                modified_at=row.updated_at,
                failure_reason=row.failure_reason,
                tags={"environment": row.environment, "model-package-group": row.group},
            )
        )

    # -- pipelines ---------------------------------------------------------------------------------

    def pipeline_parameters(self) -> Mapping[str, ParameterSpec]:
        from ml.steps import train

        specs: dict[str, ParameterSpec] = {
            "InputData": ParameterSpec(
                "InputData",
                "string",
                _bundled_training_data(),
                "labelled CSV to train on (a local path; default: the bundled Adult training file)",
            ),
            "TargetColumn": ParameterSpec(
                "TargetColumn", "string", DEFAULT_TARGET, "column holding the label"
            ),
            "AccuracyThreshold": ParameterSpec(
                "AccuracyThreshold",
                "float",
                DEFAULT_THRESHOLD,
                "minimum test accuracy for the model to be registered",
                minimum=0.0,
                maximum=1.0,
            ),
            "ModelApprovalStatus": ParameterSpec(
                "ModelApprovalStatus",
                "string",
                str(ApprovalStatus.PENDING),
                "approval status the new version is registered with",
                choices=(str(ApprovalStatus.PENDING), str(ApprovalStatus.APPROVED)),
            ),
        }
        for name, spec in train.HYPERPARAMETER_TYPES.items():
            specs[name] = ParameterSpec(
                name,
                "integer" if spec.type is int else "float",
                train.DEFAULT_HYPERPARAMETERS[name],
                train.HYPERPARAMETER_DESCRIPTIONS.get(name, ""),
                minimum=float(spec.minimum),
                maximum=float(spec.maximum),
                hyperparameter=True,
            )
        return specs

    def start_pipeline(
        self, parameters: Mapping[str, str], requested_by: str, git_sha: str | None = None
    ) -> Execution:
        self._check_open()
        if not requested_by or not requested_by.strip():
            raise InvalidRequest("requested_by must name who asked for the run")
        specs = self.pipeline_parameters()
        values = self._resolve_parameters(parameters, specs)
        input_path = _local_input_path(str(values["InputData"]))
        hyperparameters = {n: v for n, v in values.items() if specs[n].hyperparameter}
        assert all(isinstance(v, int | float) for v in hyperparameters.values())
        resolved = {name: _format_value(value) for name, value in values.items()}
        suffix = "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))
        execution_id = events.execution_arn(self.pipeline_name, suffix)
        started = utcnow()
        execution = self._registry.create_execution(
            execution_id=execution_id,
            pipeline=self.pipeline_name,
            display_name=f"execution-{int(started.timestamp() * 1000)}",
            parameters=resolved,
            requested_by=requested_by,
            git_sha=git_sha,
            owner=self._owner.token,
            steps=PIPELINE_STEPS,
            started_at=started,
            admit=self._run_limits.admit(requested_by),
        )
        self._publish_execution(execution_id, self.pipeline_name, ExecutionStatus.EXECUTING, None)
        self._runner.submit(
            RunRequest(
                execution_id=execution_id,
                input_path=input_path,
                target=str(values["TargetColumn"]),
                threshold=float(values["AccuracyThreshold"]),
                approval_status=ApprovalStatus(str(values["ModelApprovalStatus"])),
                hyperparameters={n: v for n, v in hyperparameters.items() if isinstance(v, int | float)},
                parameters=resolved,
                requested_by=requested_by,
                git_sha=git_sha,
            )
        )
        log.info("started %s for %s (%s)", execution_id, requested_by, resolved)
        return execution

    @staticmethod
    def _resolve_parameters(
        given: Mapping[str, str], specs: Mapping[str, ParameterSpec]
    ) -> dict[str, str | int | float]:
        for name in given:
            if name not in specs:
                close = difflib.get_close_matches(name, list(specs), n=1, cutoff=0.6)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise InvalidRequest(
                    f"unknown parameter {name!r}.{hint} Valid parameters: {', '.join(specs)}"
                )
        values: dict[str, str | int | float] = {}
        for name, spec in specs.items():
            values[name] = _parse_value(spec, given[name]) if name in given else spec.default
        if not str(values["InputData"]).strip():
            raise InvalidRequest("InputData is required: the bundled Adult data is not installed")
        return values

    def describe_execution(self, execution_id: str) -> Execution:
        return self._registry.get_execution(self._execution_arn(execution_id))

    def list_executions(self, limit: int = 20) -> list[Execution]:
        if limit < 1:
            raise InvalidRequest(f"limit must be at least 1, not {limit}")
        return self._registry.list_executions(self.pipeline_name, limit)

    def stop_execution(self, execution_id: str) -> Execution:
        self._check_open()
        execution_id = self._execution_arn(execution_id)
        execution = self._registry.get_execution(execution_id)
        if execution.status.terminal:
            raise InvalidRequest(f"execution {execution_id} already {execution.status}: nothing to stop")
        self._request_stop(execution_id)
        return self._registry.get_execution(execution_id)

    def _request_stop(self, execution_id: str) -> None:
        previous = self._registry.set_execution_status(
            execution_id, ExecutionStatus.STOPPING, only_from=(ExecutionStatus.EXECUTING,)
        )
        if previous is not None:
            self._publish_execution(execution_id, self.pipeline_name, ExecutionStatus.STOPPING, previous)
        owner = self._owner_of(execution_id)
        # Not started yet, or its process is gone: nobody will reach a step boundary, so stop it here.
        if self._runner.withdraw(execution_id) or not self._owner.alive(owner):
            stopped = self._registry.set_execution_status(
                execution_id,
                ExecutionStatus.STOPPED,
                only_from=(ExecutionStatus.STOPPING,),
                ended_at=utcnow(),
            )
            if stopped is not None:
                self._publish_execution(execution_id, self.pipeline_name, ExecutionStatus.STOPPED, stopped)

    def _owner_of(self, execution_id: str) -> str:
        for eid, _pipeline, owner in self._registry.unfinished_executions():
            if eid == execution_id:
                return owner
        return ""

    def _execution_arn(self, execution_id: str) -> str:
        """Accept a full execution ARN or just its last part (what users copy from chat)."""
        if execution_id.startswith("arn:"):
            return execution_id
        return events.execution_arn(self.pipeline_name, execution_id.strip())

    # -- model registry ------------------------------------------------------------------------------

    def list_model_packages(self, limit: int | None = None) -> list[ModelPackage]:
        packages = self._registry.list_model_packages(self.model_package_group)
        return packages if limit is None else packages[:limit]

    def describe_model_package(self, version: int) -> ModelPackage:
        return self._registry.describe_model_package(self.model_package_group, _version(version))

    def update_approval(self, version: int, status: ApprovalStatus, description: str) -> ModelPackage:
        self._check_open()
        try:
            status = ApprovalStatus(status)
        except ValueError:
            choices = ", ".join(str(s) for s in ApprovalStatus)
            raise InvalidRequest(f"approval status {status!r} is not one of: {choices}") from None
        package = self._registry.update_approval(
            self.model_package_group, _version(version), status, description
        )
        modified = self._registry.package_modified_at(self.model_package_group, package.version)
        self._bus.publish(
            events.model_package_event(
                group=package.group,
                version=package.version,
                approval_status=package.approval_status,
                created_at=package.created_at,
                modified_at=modified,
                approval_description=package.approval_description,
                model_data_url=package.artifact_uri,
                evaluation_uri=package.artifact_uri + "evaluation.json",
                generated_by=package.lineage.get("execution_id"),
                customer_metadata=package.lineage,
                updated_fields=("ModelApprovalStatus", "ApprovalDescription"),
            )
        )
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
        return ensure_host_process(self.home, port=self._endpoint_port).url

    def stop_endpoint_host(self) -> bool:
        """Stop this home's endpoint host process (endpoints stop answering); False if none ran."""
        return stop_host_process(self.home)

    def deploy(self, environment: Environment, version: int, deployed_by: str) -> EndpointInfo:
        self._check_open()
        name = self.endpoint_name(environment)
        package = self.describe_model_package(version)
        if package.approval_status is not ApprovalStatus.APPROVED:
            raise InvalidRequest(
                f"v{package.version} is {package.approval_status}: only Approved versions can be deployed"
            )
        row = self._registry.get_endpoint(name)
        if row is not None and row.status is EndpointStatus.IN_SERVICE and row.version == package.version:
            return self._info(row)  # already serving it: nothing to change
        return self._change(environment, package, deployed_by, "deploy")

    def rollback(self, environment: Environment, version: int, deployed_by: str) -> EndpointInfo:
        self._check_open()
        name = self.endpoint_name(environment)
        version = _version(version)
        history = self._registry.deployments(name)
        served = sorted({d.version for d in history})
        if not served:
            raise InvalidRequest(f"{environment} has never served a model: there is nothing to roll back to")
        if version not in served:
            listing = ", ".join(f"v{v}" for v in served)
            raise InvalidRequest(
                f"{environment} never served v{version}: "
                f"it can roll back only to a version it served before ({listing})"
            )
        row = self._registry.get_endpoint(name)
        if row is not None and row.status is EndpointStatus.IN_SERVICE and row.version == version:
            raise InvalidRequest(f"{environment} already serves v{version}")
        return self._change(environment, self.describe_model_package(version), deployed_by, "rollback")

    def _change(
        self,
        environment: Environment,
        package: ModelPackage,
        deployed_by: str,
        kind: Literal["deploy", "rollback"],
    ) -> EndpointInfo:
        if not deployed_by or not deployed_by.strip():
            raise InvalidRequest("deployed_by must name who asked for the change")
        name = self.endpoint_name(environment)
        model_dir = _uri_to_path(package.artifact_uri)
        if not (model_dir / "xgboost-model").is_file():
            raise PlatformError(f"v{package.version}'s model file is missing from {model_dir}")
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")[:17]
        config_name = f"{name}-v{package.version}-{stamp}"
        with self._endpoint_lock:
            before = self._registry.get_endpoint(name)
            row = self._registry.begin_endpoint_change(
                name=name,
                group=self.model_package_group,
                environment=environment,
                version=package.version,
                model_dir=str(model_dir),
                config_name=config_name,
                owner=self._owner.token,
                owner_alive=self._owner.alive,
            )
            self._publish_endpoint(row)
            try:
                failure = self._await_serving(row, package.version, str(model_dir))
            except Exception as exc:
                log.exception("%s of v%d to %s failed", kind, package.version, name)
                failure = str(exc) or type(exc).__name__
            if failure is None and before is not None and before.version is not None:
                failure = self._guard_update(environment, before, package.version, config_name)
            if failure is None:
                done = self._registry.finish_endpoint_change(name, deployed_by=deployed_by, kind=kind)
                self._publish_endpoint(done)
                log.info(
                    "%s: %s now serves v%d (%s by %s)", kind, name, package.version, config_name, deployed_by
                )
                return self._info(done)
            failed = self._registry.fail_endpoint_change(name, failure)
            if self._host is not None:
                self._host.sync()  # the new model may have loaded: serve the kept version again now
            self._publish_endpoint(failed)
        raise PlatformError(f"{kind} of v{package.version} to {environment} failed: {failure}")

    def _guard_update(
        self, environment: Environment, before: EndpointRow, version: int, config_name: str
    ) -> str | None:
        """The rollout guard: put the endpoint back and raise ``RolledBack`` if a guarding alarm fired."""
        try:
            alarms = rollout.fired(self.home, self.rollback_alarm_names)
        except PlatformError as exc:
            return f"the rollout guard could not read its alarms: {exc}"
        if not alarms:
            return None
        why = rollout.reason(self.home, alarms)
        back = rollout.revert(
            self._registry, before, version=version, config_name=config_name, alarms=alarms, why=why
        )
        if before.model_dir is not None and before.version is not None:
            problem = self._await_serving(back, before.version, before.model_dir)
            if problem:
                log.error("%s: going back to v%d: %s", back.name, before.version, problem)
        self._publish_endpoint(back)
        log.warning("%s: %s; still serving v%s", back.name, why, back.version)
        raise rollout.rolled_back(
            environment,
            back,
            {"version": version, "config_name": config_name, "alarms": list(alarms), "reason": why},
        )

    def rolled_back_update(self, environment: Environment, version: int) -> RolledBack | None:
        return rollout.last_rollback(self._registry, environment, self.endpoint_name(environment), version)

    def _await_serving(self, row: EndpointRow, version: int, model_dir: str) -> str | None:
        """Wait until the host serves ``version``; returns None, or why it could not."""
        if self._host is not None:
            self._host.sync()
            status = self._host.status()
        else:
            record = ensure_host_process(self.home, port=self._endpoint_port)
            deadline = time.monotonic() + self._deploy_timeout
            while True:
                status = host_status(record.url) or {}
                if _served_or_failed(status, row, version, model_dir) or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
        entry = status.get("endpoints", {}).get(row.name) or {}
        if entry.get("version") == version and entry.get("model_dir") == model_dir:
            return None
        error = entry.get("error") or {}
        if error.get("version") == version:
            return f"the model did not load: {error.get('message')}"
        return f"the endpoint host did not serve v{version} within {self._deploy_timeout:.0f} s"

    def describe_endpoint(self, environment: Environment) -> EndpointInfo:
        name = self.endpoint_name(environment)
        row = self._registry.get_endpoint(name)
        if row is None:
            raise NotFound(f"the {environment} endpoint ({name}) does not exist yet: deploy a version first")
        return self._info(row)

    def endpoint_history(self, environment: Environment) -> list[Deployment]:
        return self._registry.deployments(self.endpoint_name(environment))

    @staticmethod
    def _info(row: EndpointRow) -> EndpointInfo:
        return EndpointInfo(
            environment=row.environment,
            name=row.name,
            status=row.status,
            version=row.version,
            updated_at=row.updated_at,
            failure_reason=row.failure_reason,
        )

    def validate(self, environment: Environment) -> dict[str, Any]:
        """Run ``ml.validate`` through the runtime API of the endpoint host, as against SageMaker."""
        from ml import validate as validation

        info = self.describe_endpoint(environment)
        if info.status is not EndpointStatus.IN_SERVICE or info.version is None:
            raise InvalidRequest(
                f"the {environment} endpoint is {info.status}: it must be InService to validate"
            )
        threshold = DEFAULT_THRESHOLD
        lineage_threshold = self.describe_model_package(info.version).lineage.get("threshold")
        if lineage_threshold:
            threshold = float(lineage_threshold)
        url = self.endpoint_url
        report = validation.validate_endpoint(
            _runtime_invoker(info.name, url),
            threshold=threshold,
            ping=lambda: _ping(url, info.name),
            endpoint=info.name,
        )
        report["model_version"] = info.version
        return report


# -- helpers -----------------------------------------------------------------------------------------


def _served_or_failed(status: Mapping[str, Any], row: EndpointRow, version: int, model_dir: str) -> bool:
    entry = status.get("endpoints", {}).get(row.name) or {}
    if entry.get("version") == version and entry.get("model_dir") == model_dir:
        return True
    error = entry.get("error") or {}
    return bool(error.get("version") == version and error.get("generation") == row.generation)


def _parse_value(spec: ParameterSpec, raw: object) -> str | int | float:
    text = str(raw).strip()
    if spec.type == "string":
        if spec.choices and text not in spec.choices:
            close = difflib.get_close_matches(text, list(spec.choices), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InvalidRequest(
                f"{spec.name}={text!r} is not allowed{hint}: use one of {', '.join(spec.choices)}"
            )
        if not text:
            raise InvalidRequest(f"{spec.name} must not be empty")
        return text
    expected = "an integer" if spec.type == "integer" else "a number"
    bounds = ""
    if spec.minimum is not None and spec.maximum is not None:
        bounds = f" between {_format_value(spec.minimum)} and {_format_value(spec.maximum)}"
    try:
        number = float(text)
    except ValueError:
        raise InvalidRequest(f"{spec.name}={text!r} is not {expected}; expected {expected}{bounds}") from None
    if not math.isfinite(number):
        raise InvalidRequest(f"{spec.name}={text!r} is not a finite number; expected {expected}{bounds}")
    if spec.type == "integer" and not number.is_integer():
        raise InvalidRequest(f"{spec.name}={text!r} is not an integer; expected {expected}{bounds}")
    if (spec.minimum is not None and number < spec.minimum) or (
        spec.maximum is not None and number > spec.maximum
    ):
        raise InvalidRequest(f"{spec.name}={text!r} is out of range; expected {expected}{bounds}")
    return int(number) if spec.type == "integer" else number


def _format_value(value: str | int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    return str(value)


def _local_input_path(value: str) -> Path:
    if value.startswith("s3://"):
        raise InvalidRequest(f"InputData={value!r}: the local platform reads local files only, not S3")
    path = Path(unquote(urlsplit(value).path)) if value.startswith("file://") else Path(value).expanduser()
    if not path.exists():
        raise InvalidRequest(f"InputData={value!r}: no such file or directory")
    return path.resolve()


def _uri_to_path(uri: str) -> Path:
    return Path(unquote(urlsplit(uri).path))


def _version(version: int) -> int:
    if isinstance(version, bool) or not isinstance(version, int):
        try:
            version = int(str(version).strip().lstrip("vV"))
        except ValueError:
            raise InvalidRequest(f"model version {version!r} is not a number like 3 or v3") from None
    if version < 1:
        raise InvalidRequest(f"model versions start at 1, not {version}")
    return version


def _ping(url: str, endpoint: str) -> bool:
    request = urllib.request.Request(f"{url}/ping", headers={"X-Endpoint": endpoint})  # noqa: S310 - http only
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _runtime_invoker(endpoint_name: str, url: str) -> Callable[[bytes, str], tuple[bytes, str]]:
    """A sagemaker-runtime client on the endpoint host, with placeholder credentials.

    ``ml.validate.runtime_invoker`` takes credentials from the environment, which a machine without AWS
    lacks; the local host checks no signature, so fixed placeholder ones do. Failures are reported as
    ``ml.validate`` expects: an ``InvokeError`` with the model's own HTTP status.
    """
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    from ml.validate import InvokeError

    client = boto3.client(
        "sagemaker-runtime",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - not a secret
        config=Config(connect_timeout=5, read_timeout=60, retries={"mode": "standard", "max_attempts": 3}),
    )

    def invoke(body: bytes, content_type: str) -> tuple[bytes, str]:
        try:
            response = client.invoke_endpoint(
                EndpointName=endpoint_name, ContentType=content_type, Accept=content_type, Body=body
            )
        except ClientError as exc:
            details: dict[str, Any] = dict(exc.response)
            status = details.get("OriginalStatusCode") or details.get("ResponseMetadata", {}).get(
                "HTTPStatusCode"
            )
            raise InvokeError(str(exc), status=status if isinstance(status, int) else None) from exc
        except BotoCoreError as exc:
            raise InvokeError(str(exc)) from exc
        return response["Body"].read(), str(response.get("ContentType", content_type))

    return invoke
