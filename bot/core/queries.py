"""Read-only views of releases: status, one version, deployment history, audit, rollback plans."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from ml.guardrails import default_alarm_names
from ml.platform import (
    ENVIRONMENTS,
    ApprovalStatus,
    EndpointInfo,
    Environment,
    Execution,
    ModelPackage,
    NotFound,
    PlatformError,
)
from ml.rollout_policy import RolloutPolicy
from ml.rollout_state import RollbackPath

from .base import ReleaseCore
from .identity import requester_note
from .models import AuditEntry, AuditFilter, DeploymentRecord, ValidationReport, VersionView
from .votes import VoteRecords, tally_of


def when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class StatusView:
    environments: tuple[EndpointInfo, ...]
    versions: tuple[VersionView, ...]  # newest first
    executions: tuple[Execution, ...]  # newest first


@dataclass(frozen=True)
class RollbackPlan:
    environment: Environment
    from_version: int
    to_version: int
    endpoint: str
    #: how the platform would carry it out (a weight shift to a warm variant, or a redeploy); None
    #: when it cannot tell now
    path: RollbackPath | None = None


@dataclass(frozen=True)
class PromotePlan:
    version: int
    #: what production serves now (None: nothing yet)
    from_version: int | None
    endpoint: str
    #: the production freeze this promote breaks, and the oncall's reason (break-glass); "" for none
    freeze: str = ""
    break_glass: str = ""
    #: how traffic moves to it (None: the platform's own policy), and whether the promote chose it
    rollout: RolloutPolicy | None = None
    rollout_override: bool = False
    #: the alarms that roll it back automatically
    alarms: tuple[str, ...] = ()


def validation_refusal(version: int, report: ValidationReport | None) -> str | None:
    """Why ``version`` cannot be promoted on its staging validation; None when it passed."""
    if report is not None and report.passed:
        return None
    why = "has no staging validation yet" if report is None else "failed its staging validation"
    return f"v{version} {why}: promote needs a passed staging validation of that exact version."


class Queries:
    def __init__(self, core: ReleaseCore) -> None:
        self.core = core

    def requester_note(self, package: ModelPackage) -> str:
        """What a card says when four-eyes cannot place who trained a version; "" when it can."""
        core = self.core
        if not core.four_eyes:
            return ""
        return requester_note(core.identities, package.lineage.get("requested_by", ""), core.allow_unmapped)

    def view(
        self,
        version: int,
        package: ModelPackage | None = None,
        endpoints: Mapping[str, EndpointInfo] | None = None,
    ) -> VersionView:
        core = self.core
        package = package or core.platform.describe_model_package(version)
        endpoints = endpoints or {e: core.endpoint(e) for e in ENVIRONMENTS}
        serving_in = tuple(e for e in ENVIRONMENTS if endpoints[e].version == version)
        prod_version = endpoints["production"].version
        prod_metrics: Mapping[str, float] | None = None
        if prod_version is not None:
            prod_metrics = (
                package.metrics
                if prod_version == version
                else core.platform.describe_model_package(prod_version).metrics
            )
        return VersionView(
            package=package,
            decision=core.records.decision(version),
            validation=core.records.latest_validation(version),
            environments=serving_in,
            production_metrics=prod_metrics,
            production_version=prod_version,
            requester_note=self.requester_note(package),
            approvals=tally_of(VoteRecords(core.records.store), core.approval_rule, version),
        )

    def status(self, versions: int = 5) -> StatusView:
        core = self.core
        # The platform calls are independent; on SageMaker each is a network round trip.
        with ThreadPoolExecutor(max_workers=4) as pool:
            f_endpoints = {e: pool.submit(core.endpoint, e) for e in ENVIRONMENTS}
            f_packages = pool.submit(core.platform.list_model_packages, versions)
            # The status shows no run's parameters: on SageMaker each run's is a call after the listing.
            f_execs = pool.submit(core.platform.list_executions, 5, parameters=False)
            endpoints = {e: f.result() for e, f in f_endpoints.items()}
            packages = f_packages.result()
            executions = f_execs.result()
        by_version = {p.version: p for p in packages}
        prod = endpoints["production"].version
        prod_metrics: Mapping[str, float] | None = None
        if prod is not None:
            # Metrics are written once per version: remembered ones need no check against the registry.
            prod_package = (
                by_version.get(prod)
                or core.records.known_package(core.platform.model_package_group, prod)
                or core.platform.describe_model_package(prod)
            )
            prod_metrics = prod_package.metrics
        views = []
        for p in packages[:versions]:
            serving_in = tuple(e for e in ENVIRONMENTS if endpoints[e].version == p.version)
            views.append(
                VersionView(
                    p,
                    core.records.decision(p.version),
                    core.records.latest_validation(p.version),
                    serving_in,
                    prod_metrics,
                    prod,
                    self.requester_note(p),
                    tally_of(VoteRecords(core.records.store), core.approval_rule, p.version),
                )
            )
        return StatusView(tuple(endpoints[e] for e in ENVIRONMENTS), tuple(views), tuple(executions))

    def history(self, environment: Environment) -> list[DeploymentRecord]:
        return self.core.records.deployments(environment)

    def audit(self, limit: int = 20, where: AuditFilter | None = None) -> list[AuditEntry]:
        return self.core.records.audit(limit, where)

    def rollback_plan(
        self, environment: Environment, version: int | None = None, *, with_path: bool = True
    ) -> RollbackPlan | str:
        """What a rollback would change, or why it cannot happen (for the confirmation step).

        ``with_path``: ask the platform how it would go (the confirmation says; the rollback need not)."""
        core = self.core
        current = core.serving(environment)
        if current is None:
            return f"{environment} serves no model yet: there is nothing to roll back."
        deployed = [r.version for r in core.records.deployments(environment)]
        for d in core.platform.endpoint_history(environment):
            if d.version not in deployed:
                deployed.append(d.version)
        if version is None:
            # back means older: after a rollback from v2 to v1, going to v2 again is a promote
            earlier = [v for v in reversed(deployed) if v < current]
            if not earlier:
                if all(v == current for v in deployed):
                    return (
                        f"{environment} has served only v{current}: "
                        "there is no earlier version to roll back to."
                    )
                return (
                    f"{environment} has served no version older than v{current}: there is nothing to roll "
                    f"back to (a newer version goes back in with `promote`)."
                )
            version = earlier[0]
        elif version > current:
            return (
                f"v{version} is newer than v{current}, which {environment} serves: a rollback only goes "
                f"back; `promote v{version}` moves forward."
            )
        elif version not in deployed:
            before = ", ".join(f"v{v}" for v in sorted(set(deployed))) or "none"
            return (
                f"v{version} was never deployed to {environment}, so it cannot be a rollback target "
                f"(deployed before: {before})."
            )
        endpoint = core.platform.endpoint_name(environment)
        path: RollbackPath | None = None
        try:
            path = core.platform.rollback_path(environment, version) if with_path else None
        except PlatformError:
            path = None  # the confirmation says the path is unknown; the rollback itself decides
        return RollbackPlan(environment, current, version, endpoint, path)

    def promote_plan(self, version: int, rollout: RolloutPolicy | None = None) -> PromotePlan | str:
        """What promoting ``version`` would change, or why it cannot happen (for the confirmation step).

        The promote itself checks everything again, permission included, once confirmed.
        """
        core = self.core
        try:
            package = core.platform.describe_model_package(version)
        except NotFound:
            return f"Model version v{version} does not exist."
        current = core.serving("production")
        if current == version:
            return f"production already serves v{version}."
        if package.approval_status is not ApprovalStatus.APPROVED:
            return f"v{version} is {package.approval_status.value}: only Approved versions can be promoted."
        refusal = validation_refusal(version, core.records.latest_validation(version))
        if refusal is not None:
            return refusal
        endpoint = core.platform.endpoint_name("production")
        policy = rollout or core.rollouts.get("production")
        alarms = core.rollback_alarms or default_alarm_names(endpoint)
        return PromotePlan(
            version,
            current,
            endpoint,
            rollout=policy,
            rollout_override=rollout is not None,
            alarms=alarms if policy is not None else (),
        )
