"""The ML platform interface the bot depends on.

One protocol, two implementations: ``ml.local`` (one machine, no AWS) and
``ml.sagemaker`` (boto3). Every value crossing it is a frozen dataclass of plain
types so the release core can persist and compare them without knowing which
platform produced them.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

# Re-exported: defined with the parameters it describes.
from ml.lifecycle import LifeCycle as LifeCycle  # noqa: PLC0414 - explicit re-export
from ml.parameters import ParameterSpec as ParameterSpec  # noqa: PLC0414 - explicit re-export
from ml.rollout_policy import RolloutPolicy
from ml.rollout_state import RollbackPath, RolloutProgress, WarmStandby

Environment = Literal["staging", "production"]
ENVIRONMENTS: tuple[Environment, ...] = ("staging", "production")

#: The pipeline's step names, in order, as SageMaker names them in our definition.
PIPELINE_STEPS: tuple[str, ...] = (
    "PreprocessData",
    "TrainModel",
    "EvaluateModel",
    "CheckAccuracy",
    "RegisterModel",
)

#: EventBridge ``source`` and ``detail-type`` values, shared by both platforms.
EVENT_SOURCE = "aws.sagemaker"
DT_EXECUTION = "SageMaker Model Building Pipeline Execution Status Change"
DT_STEP = "SageMaker Model Building Pipeline Execution Step Status Change"
DT_MODEL_PACKAGE = "SageMaker Model Package State Change"
DT_ENDPOINT = "SageMaker Endpoint State Change"
DT_ENDPOINT_DEPLOYMENT = "SageMaker Endpoint Deployment State Change"


class PlatformError(Exception):
    """A refusal or failure with a message fit to show a user as is."""


class NotFound(PlatformError):
    """The named version, execution or endpoint does not exist."""


class InvalidRequest(PlatformError):
    """The request itself is wrong (bad parameter, unapproved version, ...)."""


class RolledBack(PlatformError):
    """An endpoint update ended back on the configuration it started from: the platform undid it.

    SageMaker does this without failing the update (the endpoint is ``InService`` again, on the old
    ``EndpointConfigName``) when an auto-rollback alarm fires or the new fleet is unhealthy. The
    environment still serves ``serving_version``; ``alarms`` names the alarms that fired, if known.
    """

    def __init__(
        self,
        message: str,
        *,
        environment: Environment,
        requested_version: int,
        serving_version: int | None,
        requested_config: str,
        serving_config: str,
        rolled_back_by: str,
        alarms: tuple[str, ...] = (),
        reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.environment: Environment = environment
        self.requested_version = requested_version
        self.serving_version = serving_version
        self.requested_config = requested_config
        self.serving_config = serving_config
        #: who undid it, as a reader would name it ("SageMaker")
        self.rolled_back_by = rolled_back_by
        self.alarms = alarms
        self.reason = reason


class ApprovalStatus(enum.StrEnum):
    PENDING = "PendingManualApproval"
    APPROVED = "Approved"
    REJECTED = "Rejected"


class ExecutionStatus(enum.StrEnum):
    EXECUTING = "Executing"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    FAILED = "Failed"
    SUCCEEDED = "Succeeded"

    @property
    def terminal(self) -> bool:
        return self in (ExecutionStatus.STOPPED, ExecutionStatus.FAILED, ExecutionStatus.SUCCEEDED)


class StepStatus(enum.StrEnum):
    PENDING = "Pending"  # not started yet (SageMaker simply omits such steps)
    STARTING = "Starting"
    EXECUTING = "Executing"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    FAILED = "Failed"
    SUCCEEDED = "Succeeded"


class EndpointStatus(enum.StrEnum):
    CREATING = "Creating"
    UPDATING = "Updating"
    IN_SERVICE = "InService"
    ROLLING_BACK = "RollingBack"
    FAILED = "Failed"
    OUT_OF_SERVICE = "OutOfService"
    NOT_DEPLOYED = "NotDeployed"  # never created; SageMaker answers "Could not find endpoint"

    @classmethod
    def parse(cls, value: object) -> EndpointStatus | None:
        """Events spell statuses ``IN_SERVICE``, the API ``InService``: accept both (None if unknown)."""
        if not isinstance(value, str):
            return None
        squashed = value.replace("_", "").lower()
        return next((status for status in cls if status.value.lower() == squashed), None)


@dataclass(frozen=True)
class StepInfo:
    name: str
    status: StepStatus
    started_at: datetime | None = None
    ended_at: datetime | None = None
    failure_reason: str | None = None


@dataclass(frozen=True)
class Execution:
    execution_id: str
    status: ExecutionStatus
    parameters: Mapping[str, str]
    requested_by: str
    git_sha: str | None
    started_at: datetime
    ended_at: datetime | None = None
    failure_reason: str | None = None
    steps: tuple[StepInfo, ...] = ()
    #: version registered by this run, once RegisterModel succeeded
    model_version: int | None = None
    #: where the run comes from beyond ``git_sha``, recorded by the platform (never by a parameter):
    #: ``git_state``, ``git_dirty``, and ``logs`` (a path relative to the platform's home)
    origin: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelPackage:
    version: int
    arn: str
    group: str
    approval_status: ApprovalStatus
    created_at: datetime
    approval_description: str | None = None
    #: accuracy, precision, recall, f1, auc (fractions in [0, 1])
    metrics: Mapping[str, float] = field(default_factory=dict)
    artifact_uri: str = ""
    artifact_sha256: str = ""
    #: execution_id, requested_by, git_sha, dataset_sha256, parameters (JSON), ...
    lineage: Mapping[str, str] = field(default_factory=dict)
    #: who last changed the package, as the registry tells it (SageMaker's LastModifiedBy)
    modified_by: str = ""
    #: the registry's lifecycle stage (SageMaker's ModelLifeCycle), None when it has none
    life_cycle: LifeCycle | None = None


@dataclass(frozen=True)
class ArtifactIdentity:
    """What an approval is bound to: the package, the bytes of its model data, the serving image."""

    package_arn: str
    #: hex SHA-256 of the model data object (``model.tar.gz`` on SageMaker, the model file locally)
    model_data_sha256: str
    #: ``sha256:<hex>`` of the serving image (or, locally, of the serving code and container spec)
    image_digest: str

    def changes_since(self, earlier: ArtifactIdentity) -> list[str]:
        """What differs from ``earlier``, in words for a card ("model data changed (sha256 … → …)")."""

        def short(value: str) -> str:
            return value.removeprefix("sha256:")[:12] or "none"

        out = []
        if self.package_arn != earlier.package_arn:
            out.append(f"model package changed ({earlier.package_arn or 'none'} → {self.package_arn})")
        if self.model_data_sha256 != earlier.model_data_sha256:
            out.append(
                f"model data changed (sha256 {short(earlier.model_data_sha256)}… → "
                f"{short(self.model_data_sha256)}…)"
            )
        if self.image_digest != earlier.image_digest:
            out.append(
                f"serving image changed ({short(earlier.image_digest)}… → {short(self.image_digest)}…)"
            )
        return out

    def to_dict(self) -> dict[str, str]:
        return {
            "package_arn": self.package_arn,
            "model_data_sha256": self.model_data_sha256,
            "image_digest": self.image_digest,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ArtifactIdentity:
        return cls(str(d["package_arn"]), str(d["model_data_sha256"]), str(d["image_digest"]))


@dataclass(frozen=True)
class EndpointInfo:
    environment: Environment
    name: str
    status: EndpointStatus
    version: int | None
    updated_at: datetime | None = None
    failure_reason: str | None = None


@dataclass(frozen=True)
class Deployment:
    """One entry of an endpoint's deployment history (newest last)."""

    environment: Environment
    version: int
    deployed_at: datetime
    deployed_by: str
    kind: Literal["deploy", "rollback"] = "deploy"
    config_name: str = ""


PlatformEvent = dict[str, Any]
EventListener = Callable[[PlatformEvent], None]


@runtime_checkable
class MLPlatform(Protocol):
    """What the release core needs from an ML platform."""

    name: str
    model_package_group: str
    pipeline_name: str

    # -- pipelines --------------------------------------------------------
    def pipeline_parameters(self) -> Mapping[str, ParameterSpec]: ...

    def start_pipeline(
        self, parameters: Mapping[str, str], requested_by: str, git_sha: str | None = None
    ) -> Execution:
        """Validate ``parameters`` (raise InvalidRequest naming the bad one) and start a run."""
        ...

    def describe_execution(self, execution_id: str) -> Execution: ...

    def list_executions(self, limit: int = 20, *, parameters: bool = True) -> list[Execution]:
        """Newest first, without steps. ``parameters=False``: a view that does not show the runs'
        parameters may get them empty, where reading them costs a call per run."""
        ...

    def stop_execution(self, execution_id: str) -> Execution: ...

    # -- model registry ---------------------------------------------------
    def list_model_packages(self, limit: int | None = None) -> list[ModelPackage]:
        """Versions of the group, newest first; only the newest ``limit`` when given."""
        ...

    def describe_model_package(self, version: int) -> ModelPackage: ...

    def update_approval(self, version: int, status: ApprovalStatus, description: str) -> ModelPackage: ...

    def update_life_cycle(self, version: int, life_cycle: LifeCycle) -> ModelPackage:
        """Set the version's registry stage (UpdateModelPackage ``ModelLifeCycle``); approval unchanged."""
        ...

    def artifact_identity(self, version: int) -> ArtifactIdentity:
        """The package ARN, model data SHA-256 and image digest of ``version``, read now (approvals
        are bound to them). Raises NotFound for an unknown version, PlatformError when unreadable."""
        ...

    def baseline(self, version: int) -> dict[str, Any] | None:
        """The version's drift baseline (``ml.drift.baseline`` layout, score part joined), or None when
        its training wrote none (trained before drift baselines existed or, on SageMaker, by a pipeline
        whose code predates them). Raises NotFound for an unknown version."""
        ...

    def evaluation(self, version: int) -> dict[str, Any] | None:
        """The version's evaluation report (``ml.steps.evaluate``) with ``data`` from its run's preprocess
        statistics (``ml.evidence.report.join``), or None when the registry keeps no report for it."""
        ...

    # -- endpoints --------------------------------------------------------
    def deploy(
        self,
        environment: Environment,
        version: int,
        deployed_by: str,
        rollout: RolloutPolicy | None = None,
    ) -> EndpointInfo:
        """Deploy an Approved version; raise InvalidRequest otherwise. Returns once serving (or raises
        ``RolledBack`` when a guardrail alarm, a failed bake or a person stopped the rollout).
        ``rollout``: how traffic moves to it (None: the platform's configured policy)."""
        ...

    def rollback(self, environment: Environment, version: int, deployed_by: str) -> EndpointInfo:
        """Re-point the endpoint at a version it served before, without rebuilding it: a weight shift
        when that version is still warm (see ``rollback_path``), a blue/green update otherwise."""
        ...

    def rollback_path(self, environment: Environment, version: int) -> RollbackPath:
        """How ``rollback(environment, version)`` would go, read now."""
        ...

    def rollout_progress(self, environment: Environment) -> RolloutProgress | None:
        """The rollout running on ``environment``, or the last one; None when there has been none."""
        ...

    def stop_rollout(self, environment: Environment, stopped_by: str) -> str:
        """Stop the running rollout and send all traffic back to the old version; says what it did.
        Raises InvalidRequest when no rollout is running."""
        ...

    def finish_rollout(self, environment: Environment, finished_by: str) -> str:
        """Move all traffic to the new version now and end the rollout; says what it did. Raises
        InvalidRequest when no rollout is running or the platform cannot cut one short."""
        ...

    def warm_standby(self, environment: Environment) -> WarmStandby | None:
        """The previous version kept warm at 0 % weight after a promote, until its retention ends."""
        ...

    def retire_warm(self, environment: Environment) -> bool:
        """Retire a warm standby whose retention has ended; True when one was retired."""
        ...

    def endpoint_name(self, environment: Environment) -> str: ...

    def describe_endpoint(self, environment: Environment) -> EndpointInfo:
        """Raises NotFound when the endpoint was never created."""
        ...

    def endpoint_history(self, environment: Environment) -> list[Deployment]: ...

    def rolled_back_update(self, environment: Environment, version: int) -> RolledBack | None:
        """After an update towards ``version`` ended: the platform's own rollback of it, if it made one.

        None while the update is still going, when it succeeded, or when it never reached the platform.
        ``deploy`` and ``rollback`` raise the same ``RolledBack``; this answers for an update whose
        caller is gone (an endpoint event, a restart).
        """
        ...

    def validate(self, environment: Environment) -> dict[str, Any]:
        """Run ``ml.validate`` against the endpoint; returns the JSON report."""
        ...

    def captured_traffic(self, environment: Environment, since: datetime | None) -> Iterator[bytes]:
        """The endpoint's data-capture files (SageMaker's JSON Lines), each as bytes, oldest hour first:
        those of hours that can hold records at or after ``since`` (every one when None). Raises
        InvalidRequest when the environment captures nothing."""
        ...

    # -- events -----------------------------------------------------------
    def subscribe(self, listener: EventListener) -> None:
        """Deliver this platform's EventBridge-shaped events in process (local only; no-op elsewhere)."""
        ...

    def close(self) -> None: ...
