"""Release operations: train, approve, reject, deploy, validate, promote, roll back.

Every operation follows the same order: check policy, check the request against
current state, persist the change (with its audit entry), and only then publish
the ``Result`` to subscribers (Slack cards, terminal, logs). A refusal or a repeat
changes nothing but the audit trail.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ml.platform import (
    ENVIRONMENTS,
    ApprovalStatus,
    EndpointInfo,
    EndpointStatus,
    Environment,
    Execution,
    MLPlatform,
    ModelPackage,
    NotFound,
    PlatformError,
    RolledBack,
)

from . import rollouts
from .identity import IdentityMap, four_eyes_problem, requester_note
from .models import (
    Action,
    Actor,
    AuditEntry,
    Decision,
    DeploymentKind,
    DeploymentRecord,
    Outcome,
    Result,
    ValidationReport,
    VersionView,
    utc_now,
)
from .policy import allowed
from .records import Records
from .store import Store

log = logging.getLogger(__name__)

ResultListener = Callable[[Result], None]

SYSTEM = Actor(id="mlops-bot", name="mlops-bot", system=True)
#: the bot approving a new version because the operator turned on MLOPS_AUTO_APPROVE
AUTO_APPROVER = Actor(id="mlops-bot", name="mlops-bot (auto-approval)", system=True)
AUTO_APPROVAL_REASON = "auto-approval is configured (MLOPS_AUTO_APPROVE)"


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


class ReleaseService:
    def __init__(
        self,
        platform: MLPlatform,
        store: Store,
        *,
        four_eyes: bool = True,
        identities: IdentityMap | None = None,
        allow_unmapped: bool = False,
        auto_deploy_staging: bool = True,
        auto_validate_staging: bool = True,
        auto_approve: bool = False,
        clock: Callable[[], datetime] = utc_now,
        owner: str | None = None,
    ) -> None:
        self.platform = platform
        self.records = Records(store)
        self.four_eyes = four_eyes
        #: without a map (a bare core in tests and benchmarks) four-eyes can only compare ids
        self.identities = identities or IdentityMap()
        self.allow_unmapped = allow_unmapped or identities is None
        self.auto_deploy_staging = auto_deploy_staging
        self.auto_validate_staging = auto_validate_staging
        self.auto_approve = auto_approve
        self.clock = clock
        self._listeners: list[ResultListener] = []
        #: identifies this process in locks, so a restart can tell its own dead locks apart
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        #: tells this object's in-flight markers from those of others in the same process
        self.instance = secrets.token_hex(6)
        self._lock = threading.Lock()
        self._active: set[str] = set()  # environments this object is switching right now

    # -- plumbing ------------------------------------------------------------
    def subscribe(self, listener: ResultListener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def _finish(self, result: Result, target: str, detail: str = "") -> Result:
        """Audit, then announce. Order matters: nothing is announced that was not persisted."""
        self.records.add_audit(
            AuditEntry(
                at=self.clock(),
                actor_id=result.actor.id,
                actor_name=result.actor.label,
                action=result.action,
                outcome=result.outcome,
                target=target,
                detail=detail or result.message,
            )
        )
        for listener in list(self._listeners):
            try:
                listener(result)
            except Exception:  # a broken front end must not undo a persisted change
                log.exception("result listener failed for %s %s", result.action, target)
        return result

    def _refuse(
        self,
        actor: Actor,
        action: Action,
        target: str,
        message: str,
        *,
        version: int | None = None,
        environment: Environment | None = None,
        outcome: Outcome = Outcome.REFUSED,
        data: Mapping[str, Any] | None = None,
    ) -> Result:
        return self._finish(Result(action, outcome, message, actor, version, environment, data or {}), target)

    def _guard(
        self,
        actor: Actor,
        action: Action,
        target: str,
        version: int | None = None,
        environment: Environment | None = None,
    ) -> Result | None:
        denial = allowed(actor, action)
        if denial is None:
            return None
        result = Result(
            action,
            Outcome.REFUSED,
            denial.message,
            actor,
            version,
            environment,
            required_role=denial.required[0] if denial.required else None,
        )
        return self._finish(result, target)

    def _package(self, actor: Actor, action: Action, version: int) -> ModelPackage | Result:
        try:
            return self.platform.describe_model_package(version)
        except NotFound as exc:
            return self._refuse(actor, action, f"v{version}", str(exc), version=version)
        except PlatformError as exc:
            return self._refuse(
                actor, action, f"v{version}", str(exc), version=version, outcome=Outcome.FAILED
            )

    def deny(self, actor: Actor, action: Action, target: str) -> Result | None:
        """Policy check for front ends that check before parsing further; audits a denial."""
        return self._guard(actor, action, target)

    # -- reads -----------------------------------------------------------------
    def endpoint(self, environment: Environment) -> EndpointInfo:
        """The endpoint's state; one that was never deployed reads as NotDeployed."""
        try:
            return self.platform.describe_endpoint(environment)
        except NotFound:
            return EndpointInfo(
                environment, self.platform.endpoint_name(environment), EndpointStatus.NOT_DEPLOYED, None
            )

    def serving(self, environment: Environment) -> int | None:
        return self.endpoint(environment).version

    def view(
        self,
        version: int,
        package: ModelPackage | None = None,
        endpoints: Mapping[str, EndpointInfo] | None = None,
    ) -> VersionView:
        package = package or self.platform.describe_model_package(version)
        endpoints = endpoints or {e: self.endpoint(e) for e in ENVIRONMENTS}
        serving_in = tuple(e for e in ENVIRONMENTS if endpoints[e].version == version)
        prod_version = endpoints["production"].version
        prod_metrics: Mapping[str, float] | None = None
        if prod_version is not None:
            prod_metrics = (
                package.metrics
                if prod_version == version
                else self.platform.describe_model_package(prod_version).metrics
            )
        return VersionView(
            package=package,
            decision=self.records.decision(version),
            validation=self.records.latest_validation(version),
            environments=serving_in,
            production_metrics=prod_metrics,
            production_version=prod_version,
            requester_note=self.requester_note(package),
        )

    def status(self, versions: int = 5) -> StatusView:
        # The platform calls are independent; on SageMaker each is a network round trip.
        with ThreadPoolExecutor(max_workers=4) as pool:
            f_endpoints = {e: pool.submit(self.endpoint, e) for e in ENVIRONMENTS}
            f_packages = pool.submit(self.platform.list_model_packages, versions)
            f_execs = pool.submit(self.platform.list_executions, 5)
            endpoints = {e: f.result() for e, f in f_endpoints.items()}
            packages = f_packages.result()
            executions = f_execs.result()
        by_version = {p.version: p for p in packages}
        prod = endpoints["production"].version
        prod_metrics: Mapping[str, float] | None = None
        if prod is not None:
            prod_package = by_version.get(prod) or self.platform.describe_model_package(prod)
            prod_metrics = prod_package.metrics
        views = []
        for p in packages[:versions]:
            serving_in = tuple(e for e in ENVIRONMENTS if endpoints[e].version == p.version)
            views.append(
                VersionView(
                    p,
                    self.records.decision(p.version),
                    self.records.latest_validation(p.version),
                    serving_in,
                    prod_metrics,
                    prod,
                    self.requester_note(p),
                )
            )
        return StatusView(tuple(endpoints[e] for e in ENVIRONMENTS), tuple(views), tuple(executions))

    def history(self, environment: Environment) -> list[DeploymentRecord]:
        return self.records.deployments(environment)

    def audit(self, limit: int = 20) -> list[AuditEntry]:
        return self.records.audit(limit)

    def rollback_plan(self, environment: Environment, version: int | None = None) -> RollbackPlan | str:
        """What a rollback would change, or why it cannot happen (for the confirmation step)."""
        current = self.serving(environment)
        if current is None:
            return f"{environment} serves no model yet: there is nothing to roll back."
        deployed = [r.version for r in self.records.deployments(environment)]
        for d in self.platform.endpoint_history(environment):
            if d.version not in deployed:
                deployed.append(d.version)
        if version is None:
            earlier = [v for v in reversed(deployed) if v != current]
            if not earlier:
                return (
                    f"{environment} has served only v{current}: there is no earlier version to roll back to."
                )
            version = earlier[0]
        elif version not in deployed:
            before = ", ".join(f"v{v}" for v in sorted(set(deployed))) or "none"
            return (
                f"v{version} was never deployed to {environment}, so it cannot be a rollback target "
                f"(deployed before: {before})."
            )
        endpoint = self.platform.endpoint_name(environment)
        return RollbackPlan(environment, current, version, endpoint)

    # -- train -----------------------------------------------------------------
    def train(self, actor: Actor, parameters: Mapping[str, str], git_sha: str | None = None) -> Result:
        target = self.platform.pipeline_name
        if (denied := self._guard(actor, Action.TRAIN, target)) is not None:
            return denied
        try:
            execution = self.platform.start_pipeline(parameters, requested_by=actor.identity, git_sha=git_sha)
        except PlatformError as exc:
            return self._refuse(
                actor,
                Action.TRAIN,
                target,
                str(exc),
                outcome=Outcome.REFUSED if not isinstance(exc, NotFound) else Outcome.FAILED,
            )
        params = ", ".join(f"{k}={v}" for k, v in sorted(parameters.items())) or "defaults"
        return self._finish(
            Result(
                Action.TRAIN,
                Outcome.DONE,
                f"Started a training run ({params}).",
                actor,
                data={"execution_id": execution.execution_id, "parameters": dict(parameters)},
            ),
            f"execution:{execution.execution_id}",
        )

    def stop(self, actor: Actor, execution_id: str) -> Result:
        target = f"execution:{execution_id}"
        if (denied := self._guard(actor, Action.STOP, target)) is not None:
            return denied
        try:
            execution = self.platform.stop_execution(execution_id)
        except PlatformError as exc:
            return self._refuse(actor, Action.STOP, target, str(exc))
        return self._finish(
            Result(
                Action.STOP,
                Outcome.DONE,
                f"Stopping run {execution_id}.",
                actor,
                data={"execution_id": execution.execution_id},
            ),
            target,
        )

    # -- approve / reject ------------------------------------------------------
    def approve(self, actor: Actor, version: int, reason: str = "") -> Result:
        result = self._decide(actor, version, ApprovalStatus.APPROVED, reason)
        # A repeat also deploys when the first approval was persisted but its staging deploy never
        # ran (the process died, or a store write failed, in between).
        missed = result.outcome is Outcome.NOOP and self._staging_missed(version)
        if (result.outcome is Outcome.DONE or missed) and self.auto_deploy_staging:
            self.deploy(SYSTEM, version, "staging", requested_by=actor)
        return result

    def _staging_missed(self, version: int) -> bool:
        """Staging never served ``version`` and serves nothing newer: its approval deploy is owed."""
        if any(r.version == version for r in self.records.deployments("staging")):
            return False
        try:
            current = self.serving("staging")
        except PlatformError:
            return False
        return current is None or current < version

    def reject(self, actor: Actor, version: int, reason: str) -> Result:
        if not reason.strip():
            return self._refuse(
                actor,
                Action.REJECT,
                f"v{version}",
                f"A rejection needs a reason: `reject v{version} <reason>`.",
                version=version,
            )
        return self._decide(actor, version, ApprovalStatus.REJECTED, reason)

    def _decide(self, actor: Actor, version: int, status: ApprovalStatus, reason: str) -> Result:
        action = Action.APPROVE if status is ApprovalStatus.APPROVED else Action.REJECT
        target = f"v{version}"
        if (denied := self._guard(actor, action, target, version)) is not None:
            return denied
        self._settle_own()
        package = self._package(actor, action, version)
        if isinstance(package, Result):
            return package
        existing = self.records.decision(version)
        if existing is None and package.approval_status is not ApprovalStatus.PENDING:
            # decided outside the bot (console, CLI): adopt it so the card and audit agree
            existing = _external(package, package.created_at)
            self.records.force_decision(existing)
        # An approval made outside the bot stays unconfirmed until an approver decides here.
        unconfirmed = existing is not None and _unconfirmed(existing)
        if existing is not None and not unconfirmed:
            return self._repeat(actor, action, version, existing, status)
        if (
            self.four_eyes
            and status is ApprovalStatus.APPROVED
            and (problem := self.four_eyes_problem(package, actor.identity)) is not None
        ):
            return self._refuse(actor, action, target, problem, version=version)
        decision = Decision(version, status, actor.id, actor.label, self.clock(), reason)
        if unconfirmed:
            self.records.force_decision(decision)  # replaces the outside approval
        elif (winner := self.records.claim_decision(decision)) is not None:
            return self._repeat(actor, action, version, winner, status)
        verb = "Approved" if status is ApprovalStatus.APPROVED else "Rejected"
        description = f"{verb} by {actor.label} ({actor.id}) via mlops-bot" + (
            f": {reason}" if reason else ""
        )
        try:
            self.platform.update_approval(version, status, description[:1000])
        except PlatformError as exc:
            if self._decided_anyway(version, status):
                log.warning("v%s: the registry took the decision although the call failed: %s", version, exc)
            else:
                self.records.release_decision(version)
                return self._refuse(
                    actor,
                    action,
                    target,
                    f"Could not record the decision: {exc}",
                    version=version,
                    outcome=Outcome.FAILED,
                )
        message = f"{verb} v{version}" + (f": {reason}" if reason else ".")
        return self._finish(
            Result(
                action, Outcome.DONE, message, actor, version, data={"status": status.value, "reason": reason}
            ),
            target,
        )

    def four_eyes_problem(self, package: ModelPackage, approver: str) -> str | None:
        requester = package.lineage.get("requested_by", "")
        return four_eyes_problem(
            self.identities, requester, approver, package.version, allow_unmapped=self.allow_unmapped
        )

    def requester_note(self, package: ModelPackage) -> str:
        """What a card says when four-eyes cannot place who trained a version; "" when it can."""
        if not self.four_eyes:
            return ""
        return requester_note(self.identities, package.lineage.get("requested_by", ""), self.allow_unmapped)

    def _decided_anyway(self, version: int, status: ApprovalStatus) -> bool:
        """After a failed approval update: did the registry apply it (a response lost on the way)?"""
        try:
            return self.platform.describe_model_package(version).approval_status is status
        except PlatformError:
            return False

    def _repeat(
        self, actor: Actor, action: Action, version: int, existing: Decision, wanted: ApprovalStatus
    ) -> Result:
        word = "approved" if existing.status is ApprovalStatus.APPROVED else "rejected"
        msg = f"v{version} was already {word} by {existing.actor_name} at {when(existing.at)}."
        same = existing.status is wanted
        return self._refuse(
            actor,
            action,
            f"v{version}",
            msg if same else msg + " Nothing changed.",
            version=version,
            outcome=Outcome.NOOP if same else Outcome.REFUSED,
            data={"decided_by": existing.actor_name, "status": existing.status.value},
        )

    def sync_approval(self, package: ModelPackage) -> Decision | None:
        """Adopt an approval change made outside the bot (from a platform event); None if unchanged.

        A new Pending version is approved by the bot itself when the operator turned on
        auto-approval. An Approved state the bot did not set is announced as made outside the bot,
        naming who and how when the registry says, and stays undeployable until an approver
        approves it here (``_decide``, four-eyes included).
        """
        existing = self.records.decision(package.version)
        if package.approval_status is ApprovalStatus.PENDING:
            if existing is not None:
                self.records.release_decision(package.version)
            elif self.auto_approve:
                self.approve(AUTO_APPROVER, package.version, AUTO_APPROVAL_REASON)
                return self.records.decision(package.version)
            return None
        if existing is not None and existing.status is package.approval_status:
            return None
        decision = _external(package, self.clock())
        self.records.force_decision(decision)
        message = f"v{package.version} is now {package.approval_status.value} (changed outside mlops-bot"
        message += f" by {package.modified_by}" if package.modified_by else ""
        message += f': "{package.approval_description}")' if package.approval_description else ")"
        if decision.status is ApprovalStatus.APPROVED:
            message += (
                f". It cannot be deployed until an approver who did not request its training run "
                f"approves it in mlops-bot (`approve v{package.version}`)."
            )
        self._finish(
            Result(
                Action.APPROVE if decision.status is ApprovalStatus.APPROVED else Action.REJECT,
                Outcome.DONE,
                message,
                SYSTEM,
                package.version,
                data={
                    "status": package.approval_status.value,
                    "external": True,
                    "modified_by": package.modified_by,
                },
            ),
            f"v{package.version}",
        )
        return decision

    # -- deploy / promote / rollback -------------------------------------------
    def deploy(
        self, actor: Actor, version: int, environment: Environment, requested_by: Actor | None = None
    ) -> Result:
        if environment != "staging":
            return self._refuse(
                actor,
                Action.DEPLOY,
                environment,
                f"Production is reached through `promote v{version}` (it needs a passed "
                "staging validation), not `deploy`.",
                version=version,
                environment=environment,
            )
        return self._switch(actor, Action.DEPLOY, version, environment, requested_by=requested_by)

    def promote(self, actor: Actor, version: int) -> Result:
        return self._switch(actor, Action.PROMOTE, version, "production")

    def _switch(
        self,
        actor: Actor,
        action: Action,
        version: int,
        environment: Environment,
        requested_by: Actor | None = None,
    ) -> Result:
        try:
            return self._switch_checked(actor, action, version, environment, requested_by)
        except PlatformError as exc:
            return self._unreadable(actor, action, f"v{version}->{environment}", exc, version, environment)

    def _unreadable(
        self,
        actor: Actor,
        action: Action,
        target: str,
        exc: PlatformError,
        version: int | None,
        environment: Environment | None,
    ) -> Result:
        """The platform failed while the request was being checked, before anything changed."""
        return self._refuse(
            actor,
            action,
            target,
            f"Could not {action.value}: {exc} Nothing changed.",
            version=version,
            environment=environment,
            outcome=Outcome.FAILED,
        )

    def _switch_checked(
        self,
        actor: Actor,
        action: Action,
        version: int,
        environment: Environment,
        requested_by: Actor | None = None,
    ) -> Result:
        target = f"v{version}->{environment}"
        if (denied := self._guard(actor, action, target, version, environment)) is not None:
            return denied
        self._settle_own()
        package = self._package(actor, action, version)
        if isinstance(package, Result):
            return package
        if package.approval_status is not ApprovalStatus.APPROVED:
            return self._refuse(
                actor,
                action,
                target,
                f"v{version} is {package.approval_status.value}: only Approved versions can be deployed.",
                version=version,
                environment=environment,
            )
        decision = self.records.decision(version)
        if decision is None or _unconfirmed(decision):
            return self._refuse(
                actor,
                action,
                target,
                f"v{version} was approved outside mlops-bot: an approver who did not request its "
                f"training run must approve it here (`approve v{version}`) before it can be deployed.",
                version=version,
                environment=environment,
            )
        if action is Action.PROMOTE:
            report = self.records.latest_validation(version)
            if report is None or not report.passed:
                why = "has no staging validation yet" if report is None else "failed its staging validation"
                return self._refuse(
                    actor,
                    action,
                    target,
                    f"v{version} {why}: promote needs a passed staging validation of that exact version.",
                    version=version,
                    environment=environment,
                )
        current = self.serving(environment)
        if current == version:
            return self._refuse(
                actor,
                action,
                target,
                f"{environment} already serves v{version}.",
                version=version,
                environment=environment,
                outcome=Outcome.NOOP,
            )
        kind: DeploymentKind = "promote" if action is Action.PROMOTE else "deploy"
        return self._apply(actor, action, version, environment, current, kind, requested_by)

    def rollback(self, actor: Actor, environment: Environment, version: int | None = None) -> Result:
        try:
            return self._rollback(actor, environment, version)
        except PlatformError as exc:
            return self._unreadable(actor, Action.ROLLBACK, environment, exc, version, environment)

    def _rollback(self, actor: Actor, environment: Environment, version: int | None) -> Result:
        target = f"{environment}"
        if (denied := self._guard(actor, Action.ROLLBACK, target, version, environment)) is not None:
            return denied
        self._settle_own()
        plan = self.rollback_plan(environment, version)
        if isinstance(plan, str):
            current = self.serving(environment)
            outcome = Outcome.NOOP if version is not None and version == current else Outcome.REFUSED
            if outcome is Outcome.NOOP:
                plan = f"{environment} already serves v{version}."
            return self._refuse(
                actor,
                Action.ROLLBACK,
                target,
                plan,
                version=version,
                environment=environment,
                outcome=outcome,
            )
        if plan.to_version == plan.from_version:
            return self._refuse(
                actor,
                Action.ROLLBACK,
                target,
                f"{environment} already serves v{version}.",
                version=version,
                environment=environment,
                outcome=Outcome.NOOP,
            )
        return self._apply(
            actor, Action.ROLLBACK, plan.to_version, environment, plan.from_version, "rollback", None
        )

    def _apply(
        self,
        actor: Actor,
        action: Action,
        version: int,
        environment: Environment,
        previous: int | None,
        kind: DeploymentKind,
        requested_by: Actor | None,
    ) -> Result:
        target = f"v{version}->{environment}"
        marker: dict[str, object] = {
            "action": action.value,
            "version": version,
            "previous": previous,
            "kind": kind,
            "actor": actor.label,
            "actor_id": actor.id,
            "owner": self.owner,
            "instance": self.instance,
            "since": self.clock().isoformat(),
        }
        holder = self.records.begin(environment, marker)
        if holder is not None:
            return self._refuse(
                actor,
                action,
                target,
                f"{environment} is busy: {holder.get('actor', 'someone')} is running "
                f"{holder.get('action', 'an operation')} of v{holder.get('version', '?')} "
                "there. Try again when it finishes.",
                version=version,
                environment=environment,
            )
        with self._lock:
            self._active.add(environment)
        # The in-flight marker is removed only once the store agrees with the platform; otherwise it
        # stays for ``_settle`` (this process's next operation, or ``recover`` after a restart).
        settled = False
        problem = ""
        try:
            try:
                if kind == "rollback":
                    self.platform.rollback(environment, version, actor.label)
                else:
                    self.platform.deploy(environment, version, actor.label)
            except RolledBack as exc:
                settled = True  # the records already say what serves: the update never counts
                undone = rollouts.result(actor, action, version, environment, kind, exc)
                return self._rolled_back(undone, marker)
            except PlatformError as exc:
                switched = self._serves(environment, version)
                if not switched:
                    settled = switched is False
                    unknown = "" if settled else f" Could not confirm what {environment} serves now."
                    return self._refuse(
                        actor,
                        action,
                        target,
                        f"{kind.capitalize()} of v{version} to {environment} failed: {exc}{unknown}",
                        version=version,
                        environment=environment,
                        outcome=Outcome.FAILED,
                    )
                # The switch happened and only a later step failed: it must be recorded as done.
                problem = f" Note: {exc}"
            by = requested_by or actor  # an approval's automatic staging deploy is the approver's
            record = DeploymentRecord(environment, version, previous, by.id, by.label, self.clock(), kind)
            self.records.add_deployment(record)
            settled = True
        finally:
            with self._lock:
                self._active.discard(environment)
            if settled:
                self.records.end(environment)
        verbs = {"deploy": "Deployed", "promote": "Promoted", "rollback": "Rolled back"}
        prev = f" (was v{previous})" if previous is not None else ""
        message = (
            f"{verbs[kind]} {environment} to v{version}{prev}."
            if kind == "rollback"
            else f"{verbs[kind]} v{version} to {environment}{prev}."
        ) + problem
        result = self._finish(
            Result(
                action,
                Outcome.DONE,
                message,
                by,
                version,
                environment,
                data={"from_version": previous, "to_version": version, "kind": kind},
            ),
            target,
        )
        if kind == "deploy" and environment == "staging" and self.auto_validate_staging:
            self.validate(SYSTEM, version)
        return result

    def _rolled_back(self, result: Result, marker: Mapping[str, object]) -> Result:
        """The platform undid the update: audit and announce that once, as rolled back, never as done."""
        environment = result.environment or "production"
        if not rollouts.claim(self.records.store, environment, marker):
            return result  # another process saw the same rollback and announced it
        return self._finish(result, f"v{result.version}->{environment}")

    def update_finished(self, environment: Environment) -> Result | None:
        """An endpoint event says ``environment`` stopped changing: settle an update the platform undid.

        An update this object is still waiting on announces itself. Otherwise (the process that asked
        is gone, or waits elsewhere) the first to see the platform's rollback records and announces it;
        an update that took, or is still going, is left to its owner (or ``recover``).
        """
        held = next((h for env, h in self.records.inflight() if env == environment), None)
        if held is None:
            return None
        with self._lock:
            if held.get("instance") == self.instance and environment in self._active:
                return None
        undone = self._undone(environment, int(str(held.get("version", 0))))
        if undone is None:
            return None
        self.records.end(environment)
        return self._rolled_back(rollouts.from_marker(environment, held, undone), held)

    def _undone(self, environment: Environment, version: int) -> RolledBack | None:
        try:
            return self.platform.rolled_back_update(environment, version)
        except PlatformError as exc:
            log.warning("cannot tell whether %s rolled back v%s: %s", environment, version, exc)
            return None

    # -- validation --------------------------------------------------------------
    def validate(self, actor: Actor, version: int | None = None) -> Result:
        """Run the platform's staging validation against what staging serves now."""
        try:
            return self._validate(actor, version)
        except PlatformError as exc:
            return self._unreadable(actor, Action.VALIDATE, "staging", exc, version, "staging")

    def _validate(self, actor: Actor, version: int | None) -> Result:
        target = "staging"
        if (denied := self._guard(actor, Action.VALIDATE, target, version, "staging")) is not None:
            return denied
        current = self.serving("staging")
        if current is None:
            return self._refuse(
                actor,
                Action.VALIDATE,
                target,
                "staging serves no model: deploy one first.",
                version=version,
                environment="staging",
            )
        if version is not None and version != current:
            return self._refuse(
                actor,
                Action.VALIDATE,
                target,
                f"staging serves v{current}, not v{version}: deploy v{version} to staging first.",
                version=version,
                environment="staging",
            )
        try:
            report = self.platform.validate("staging")
        except PlatformError as exc:
            return self._refuse(
                actor,
                Action.VALIDATE,
                target,
                f"Validation could not run: {exc}",
                version=current,
                environment="staging",
                outcome=Outcome.FAILED,
            )
        return self.record_validation(
            actor,
            current,
            "staging",
            bool(report.get("passed")),
            report,
            source=f"{self.platform.name}:{actor.label}",
        )

    def record_validation(
        self,
        actor: Actor,
        version: int,
        environment: Environment,
        passed: bool,
        report: Mapping[str, Any],
        source: str,
    ) -> Result:
        target = f"v{version}@{environment}"
        if (denied := self._guard(actor, Action.VALIDATE, target, version, environment)) is not None:
            return denied
        package = self._package(actor, Action.VALIDATE, version)
        if isinstance(package, Result):
            return package
        summary = summarize_report(report)
        self.records.add_validation(
            ValidationReport(version, environment, passed, self.clock(), source, summary, report)
        )
        verdict = "passed" if passed else "FAILED"
        message = f"Staging validation of v{version} {verdict}: {summary}."
        message += (
            f" Promote is now available for v{version}."
            if passed
            else f" Promote stays unavailable for v{version} until a validation passes."
        )
        return self._finish(
            Result(
                Action.VALIDATE,
                Outcome.DONE,
                message,
                actor,
                version,
                environment,
                data={"passed": passed, "report": dict(report)},
            ),
            target,
        )

    def recover(self, is_dead: Callable[[str], bool]) -> list[Result]:
        """Settle deploys and rollbacks left half-way by a process that died.

        ``is_dead(owner)`` tells whether the process that took a lock is gone. If the
        platform finished the switch, the deployment is recorded as it would have been;
        otherwise the lock is released and the interruption announced with the next
        safe action. Either way nothing is applied twice.
        """
        results = []
        for environment, held in self.records.inflight():
            owner = str(held.get("owner", ""))
            if not owner or not is_dead(owner):
                continue
            results.append(self._settle(environment, held, "the bot stopped"))
        return results

    def _serves(self, environment: Environment, version: int) -> bool | None:
        """Whether ``environment`` serves ``version``; None when the platform cannot tell now."""
        try:
            return self.serving(environment) == version
        except PlatformError as exc:
            log.warning("cannot tell what %s serves: %s", environment, exc)
            return None

    def _settle_own(self) -> None:
        """Settle markers this object left behind when a store write failed after a switch.

        Runs before each decision or switch, so the next attempt repairs what the failed one left:
        the store catches up with the platform, and the environment is not reported busy.
        """
        for environment, held in self.records.inflight():
            with self._lock:
                if held.get("instance") != self.instance or environment in self._active:
                    continue
            self._settle(environment, held, "a store write failed")

    def _settle(self, environment: str, held: Mapping[str, object], cause: str) -> Result:
        env: Environment = "production" if environment == "production" else "staging"
        version = int(str(held.get("version", 0)))
        previous_raw = held.get("previous")
        previous = None if previous_raw is None else int(str(previous_raw))
        raw_kind = str(held.get("kind", "deploy"))
        kind: DeploymentKind = (
            "promote" if raw_kind == "promote" else ("rollback" if raw_kind == "rollback" else "deploy")
        )
        action = Action(str(held.get("action", "deploy")))
        actor = Actor(str(held.get("actor_id", "unknown")), str(held.get("actor", "unknown")))
        serving = self.serving(env)
        target = f"v{version}->{env}"
        if serving == version:
            history = self.records.deployments(env)
            if not (history and (history[-1].version, history[-1].kind) == (version, kind)):
                self.records.add_deployment(
                    DeploymentRecord(env, version, previous, actor.id, actor.label, self.clock(), kind)
                )
            self.records.end(env)
            when_ = "while the bot was stopped" if cause == "the bot stopped" else f"but {cause}"
            return self._finish(
                Result(
                    action,
                    Outcome.DONE,
                    f"{env} serves v{version}: the {kind} by {actor.label} completed {when_}, "
                    "and is now recorded.",
                    actor,
                    version,
                    env,
                    data={
                        "from_version": previous,
                        "to_version": version,
                        "kind": kind,
                        "recovered": True,
                    },
                ),
                target,
            )
        undone = self._undone(env, version)
        self.records.end(env)
        if undone is not None:
            return self._rolled_back(rollouts.from_marker(env, held, undone), held)
        retry = {
            "promote": f"promote v{version}",
            "deploy": f"deploy v{version} staging",
            "rollback": f"rollback {env} v{version}",
        }[kind]
        now = f"v{serving}" if serving is not None else "no model"
        return self._finish(
            Result(
                action,
                Outcome.FAILED,
                f"The {kind} of v{version} to {env} by {actor.label} was interrupted "
                f"({cause}); {env} still serves {now}. To try again: `/mlops {retry}`.",
                actor,
                version,
                env,
                data={"interrupted": True, "retry": retry},
            ),
            target,
        )


def _external(package: ModelPackage, at: datetime) -> Decision:
    """The decision the registry shows for ``package``, recorded as taken outside the bot."""
    who = f"outside mlops-bot ({package.modified_by})" if package.modified_by else "outside mlops-bot"
    return Decision(
        package.version,
        package.approval_status,
        "external",
        who[:300],
        at,
        package.approval_description or "",
        "external",
    )


def _unconfirmed(decision: Decision) -> bool:
    """An approval nobody gave in the bot: it does not count until an approver confirms it here."""
    return decision.source == "external" and decision.status is ApprovalStatus.APPROVED


def summarize_report(report: Mapping[str, Any]) -> str:
    parts = []
    if isinstance(report.get("accuracy"), int | float):
        parts.append(f"accuracy {report['accuracy']:.3f}")
    if isinstance(report.get("p95_ms"), int | float):
        parts.append(f"p95 {report['p95_ms']:.0f} ms")
    failed = [
        c.get("name", "?") for c in report.get("checks", []) if isinstance(c, dict) and not c.get("passed")
    ]
    if failed:
        parts.append("failed checks: " + ", ".join(map(str, failed)))
    return ", ".join(parts) or "no details"


def local_owner_is_dead(owner: str) -> bool:
    """True when ``owner`` (``host:pid``) names a process on this host that no longer runs.

    Locks of other hosts are never judged dead here: they expire by their TTL.
    """
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
