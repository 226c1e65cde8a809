"""Release operations: train, approve, reject, deploy, validate, promote, roll back.

``ReleaseService`` is the one entry point front ends use. Every operation follows the same order:
check policy, check the request against current state, persist the change (with its audit entry),
and only then publish the ``Result`` to subscribers (Slack cards, terminal, logs). A refusal or a
repeat changes nothing but the audit trail. The work is done by one module per concern:
``queries``, ``approvals``, ``switches``, ``validation`` and ``recovery``, over ``base.ReleaseCore``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from bot.liveness import local_owner_is_dead
from ml.platform import EndpointInfo, Environment, LifeCycle, ModelPackage, NotFound, PlatformError
from ml.rollout_policy import RolloutPolicy

from .approvals import AUTO_APPROVAL_REASON, AUTO_APPROVER, Approvals
from .base import SYSTEM, ReleaseCore, ResultListener
from .drift_acks import DriftAcks, Mute
from .expiry import ApprovalExpiry, Reminder, TickReport, Window
from .freezes import Freeze, Freezes
from .lifecycle import LifeCycles, PendingStage
from .models import (
    Action,
    Actor,
    AuditEntry,
    AuditFilter,
    Decision,
    DeploymentRecord,
    Outcome,
    Result,
    VersionView,
)
from .queries import PromotePlan, Queries, RollbackPlan, StatusView, when
from .recovery import Recovery
from .rollout_controls import RolloutControls
from .switches import Switches
from .validation import Validation, summarize_report

#: besides ReleaseService, names other packages import from here (the probe lives in bot.liveness)
__all__ = [
    "AUTO_APPROVAL_REASON",
    "AUTO_APPROVER",
    "SYSTEM",
    "PromotePlan",
    "ReleaseService",
    "ResultListener",
    "RollbackPlan",
    "StatusView",
    "local_owner_is_dead",
    "summarize_report",
    "when",
]


class ReleaseService(ReleaseCore):
    """What handlers and runtimes call: every release operation, handed to the part that owns it.

    Each method repeats its part's signature on purpose: this is the one typed surface callers see,
    so a part can change inside without them noticing.
    """

    def _assemble(self) -> None:
        self._queries = Queries(self)
        self._validation = Validation(self)
        self._recovery = Recovery(self)
        self._switches = Switches(self, self._queries, self._validation, self._recovery)
        self._approvals = Approvals(self, self._recovery, self._switches)
        self._drift_acks = DriftAcks(self)
        self._expiry = ApprovalExpiry(self)
        self._freezes = Freezes(self)
        self._rollout_controls = RolloutControls(self)
        # Registry stages: the first listener, so stages are set before any front end renders.
        self._life_cycles = LifeCycles(self)
        self.subscribe(self._life_cycles.on_result)

    # -- reads -------------------------------------------------------------------
    def view(
        self,
        version: int,
        package: ModelPackage | None = None,
        endpoints: Mapping[str, EndpointInfo] | None = None,
    ) -> VersionView:
        return self._queries.view(version, package, endpoints)

    def status(self, versions: int = 5) -> StatusView:
        return self._queries.status(versions)

    def history(self, environment: Environment) -> list[DeploymentRecord]:
        return self._queries.history(environment)

    def audit(self, limit: int = 20, where: AuditFilter | None = None) -> list[AuditEntry]:
        """The newest ``limit`` entries ``where`` matches (all, without it), newest first."""
        return self._queries.audit(limit, where)

    def rollback_plan(self, environment: Environment, version: int | None = None) -> RollbackPlan | str:
        """What a rollback would change, or why it cannot happen (for the confirmation step)."""
        return self._queries.rollback_plan(environment, version)

    def promote_plan(
        self,
        version: int,
        actor: Actor | None = None,
        break_glass: str = "",
        rollout: RolloutPolicy | None = None,
    ) -> PromotePlan | str:
        """What promoting ``version`` would change, or why it cannot happen (for the confirmation step).

        Under a production freeze the plan is a break-glass one when ``actor`` may break it. ``rollout``:
        a releaser's policy for this promote (None: production's configured one).
        """
        plan = self._queries.promote_plan(version, rollout)
        return plan if isinstance(plan, str) else self._freezes.vet_plan(plan, actor, break_glass)

    def requester_note(self, package: ModelPackage) -> str:
        """What a card says when four-eyes cannot place who trained a version; "" when it can."""
        return self._queries.requester_note(package)

    # -- train -------------------------------------------------------------------
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

    # -- drift alerts ------------------------------------------------------------
    def acknowledge_drift(self, actor: Actor, environment: Environment, duration: timedelta) -> Result:
        return self._drift_acks.acknowledge(actor, environment, duration)

    def drift_muted(self, environment: Environment) -> Mute | None:
        return self._drift_acks.muted(environment)

    # -- change freezes ----------------------------------------------------------
    def freeze(self, actor: Actor, environment: Environment, duration: timedelta, reason: str) -> Result:
        return self._freezes.freeze(actor, environment, duration, reason)

    def unfreeze(self, actor: Actor, environment: Environment) -> Result:
        return self._freezes.unfreeze(actor, environment)

    def frozen(self, environment: Environment) -> Freeze | None:
        """The freeze holding ``environment`` now (typed or a window); None when none does."""
        return self._freezes.in_force(environment)

    # -- approvals ---------------------------------------------------------------
    def approve(self, actor: Actor, version: int, reason: str = "") -> Result:
        return self._approvals.approve(actor, version, reason)

    def reject(self, actor: Actor, version: int, reason: str) -> Result:
        return self._approvals.reject(actor, version, reason)

    def four_eyes_problem(self, package: ModelPackage, approver: str) -> str | None:
        return self._approvals.four_eyes_problem(package, approver)

    def sync_approval(self, package: ModelPackage) -> Decision | None:
        """Adopt an approval change made outside the bot (from a platform event); None if unchanged."""
        return self._approvals.sync_approval(package)

    # -- approval expiry -----------------------------------------------------------
    def approval_window(self, version: int) -> Window | None:
        """The time ``version`` may be approved in; None when approvals do not expire or it has none."""
        return self._expiry.window(version) if self.approval_ttl is not None else None

    def open_approval_window(self, package: ModelPackage) -> Window | None:
        """Open a newly registered pending version's window (and schedule its reminders and expiry)."""
        return self._expiry.open(package)

    def request_approval(self, actor: Actor, version: int) -> Result:
        """A trainer restarts an expired approval window."""
        return self._expiry.request_again(actor, version)

    def run_scheduled_work(self, remind: Callable[[Reminder], None]) -> TickReport:
        """Send the reminders and close the windows that are due, each once across processes; retire
        the warm standbys whose retention ended."""
        report = self._expiry.run_due(remind)
        report.retired.extend(
            r.environment for r in self._rollout_controls.retire_warm() if r.environment is not None
        )
        return report

    # -- registry stages ---------------------------------------------------------
    def observe_life_cycle(self, package: ModelPackage) -> LifeCycle | None:
        """After a package event: a stage set outside the bot, once (None for the bot's own)."""
        return self._life_cycles.observe(package)

    def life_cycle_pending(self, version: int) -> PendingStage | None:
        """A stage the bot owes the registry after a failed write (retried on its next action)."""
        return self._life_cycles.pending(version)

    # -- switches ----------------------------------------------------------------
    def deploy(
        self, actor: Actor, version: int, environment: Environment, requested_by: Actor | None = None
    ) -> Result:
        return self._switches.deploy(actor, version, environment, requested_by)

    def promote(
        self, actor: Actor, version: int, break_glass: str = "", rollout: RolloutPolicy | None = None
    ) -> Result:
        """``break_glass``: oncall's reason to promote through a production freeze; ``rollout``: how
        traffic moves for this promote (None: production's configured policy)."""
        return self._switches.promote(actor, version, break_glass, rollout)

    def rollback(self, actor: Actor, environment: Environment, version: int | None = None) -> Result:
        return self._switches.rollback(actor, environment, version)

    # -- rollouts ----------------------------------------------------------------
    def stop_rollout(self, actor: Actor, environment: Environment) -> Result:
        """Stop the rollout running on ``environment`` and send all traffic back to the old version."""
        return self._rollout_controls.stop(actor, environment)

    def finish_rollout(self, actor: Actor, environment: Environment) -> Result:
        """Move all of ``environment``'s traffic to the version being rolled out, now."""
        return self._rollout_controls.finish(actor, environment)

    # -- validation --------------------------------------------------------------
    def validate(self, actor: Actor, version: int | None = None) -> Result:
        """Run the platform's staging validation against what staging serves now."""
        return self._validation.validate(actor, version)

    def record_validation(
        self,
        actor: Actor,
        version: int,
        environment: Environment,
        passed: bool,
        report: Mapping[str, Any],
        source: str,
    ) -> Result:
        return self._validation.record_validation(actor, version, environment, passed, report, source)

    # -- recovery ----------------------------------------------------------------
    def recover(self, is_dead: Callable[[str], bool]) -> list[Result]:
        """Settle switches left half-way by a process that ``is_dead(owner)`` says is gone."""
        return self._recovery.recover(is_dead)

    def update_finished(self, environment: Environment) -> Result | None:
        """An endpoint event says ``environment`` stopped changing: settle an update the platform undid."""
        return self._recovery.update_finished(environment)
