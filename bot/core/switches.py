"""Switching what an environment serves: deploy to staging, promote to production, roll back.

Each switch takes the environment's lock (an in-flight marker in the store) before it calls the
platform, and releases it only once the records agree with what the platform serves; a marker
left behind is settled by ``recovery``.
"""

from __future__ import annotations

from ml.platform import ApprovalStatus, Environment, PlatformError, RolledBack
from ml.rollout_policy import RolloutPolicy

from . import rollouts
from .approvals import unconfirmed
from .base import SYSTEM, ReleaseCore
from .freezes import BrokenFreeze, freeze_gate, nothing_to_break
from .models import Action, Actor, DeploymentKind, DeploymentRecord, Outcome, Result
from .queries import Queries, validation_refusal
from .recovery import Recovery
from .validation import Validation


class Switches:
    def __init__(
        self, core: ReleaseCore, queries: Queries, validation: Validation, recovery: Recovery
    ) -> None:
        self.core = core
        self.queries = queries
        self.validation = validation
        self.recovery = recovery

    def deploy(
        self, actor: Actor, version: int, environment: Environment, requested_by: Actor | None = None
    ) -> Result:
        if environment != "staging":
            return self.core._refuse(
                actor,
                Action.DEPLOY,
                environment,
                f"Production is reached through `promote v{version}` (it needs a passed "
                "staging validation), not `deploy`.",
                version=version,
                environment=environment,
            )
        return self._switch(actor, Action.DEPLOY, version, environment, requested_by=requested_by)

    def promote(
        self, actor: Actor, version: int, break_glass: str = "", rollout: RolloutPolicy | None = None
    ) -> Result:
        return self._switch(
            actor, Action.PROMOTE, version, "production", break_glass=break_glass, rollout=rollout
        )

    def rollback(self, actor: Actor, environment: Environment, version: int | None = None) -> Result:
        try:
            return self._rollback(actor, environment, version)
        except PlatformError as exc:
            return self.core._unreadable(actor, Action.ROLLBACK, environment, exc, version, environment)

    # _switch repeats _switch_checked's signature: one catches the platform's errors, the other acts.
    def _switch(
        self,
        actor: Actor,
        action: Action,
        version: int,
        environment: Environment,
        requested_by: Actor | None = None,
        break_glass: str = "",
        rollout: RolloutPolicy | None = None,
    ) -> Result:
        try:
            return self._switch_checked(
                actor, action, version, environment, requested_by, break_glass, rollout
            )
        except PlatformError as exc:
            return self.core._unreadable(
                actor, action, f"v{version}->{environment}", exc, version, environment
            )

    def _switch_checked(
        self,
        actor: Actor,
        action: Action,
        version: int,
        environment: Environment,
        requested_by: Actor | None = None,
        break_glass: str = "",
        rollout: RolloutPolicy | None = None,
    ) -> Result:
        core = self.core
        target = f"v{version}->{environment}"
        glass = action is Action.PROMOTE and bool(break_glass)
        asked = Action.BREAK_GLASS if glass else action
        if (denied := core._guard(actor, asked, target, version, environment)) is not None:
            return denied
        if glass and (unfrozen := nothing_to_break(core, actor, version, environment)) is not None:
            return unfrozen  # oncall's way through a freeze is no way around the releaser role
        self.recovery.settle_own()
        package = core._package(actor, action, version)
        if isinstance(package, Result):
            return package
        if package.approval_status is not ApprovalStatus.APPROVED:
            return core._refuse(
                actor,
                action,
                target,
                f"v{version} is {package.approval_status.value}: only Approved versions can be deployed.",
                version=version,
                environment=environment,
            )
        decision = core.records.decision(version)
        if decision is None or unconfirmed(decision):
            return core._refuse(
                actor,
                action,
                target,
                f"v{version} was approved outside mlops-bot: an approver who did not request its "
                f"training run must approve it here (`approve v{version}`) before it can be deployed.",
                version=version,
                environment=environment,
            )
        if action is Action.PROMOTE:
            refusal = validation_refusal(version, core.records.latest_validation(version))
            if refusal is not None:
                return core._refuse(actor, action, target, refusal, version=version, environment=environment)
        frozen = freeze_gate(core, actor, action, version, environment, break_glass)
        if isinstance(frozen, Result):
            return frozen
        current = core.serving(environment)
        if current == version:
            return core._refuse(
                actor,
                action,
                target,
                f"{environment} already serves v{version}.",
                version=version,
                environment=environment,
                outcome=Outcome.NOOP,
            )
        kind: DeploymentKind = "promote" if action is Action.PROMOTE else "deploy"
        return self._apply(actor, action, version, environment, current, kind, requested_by, frozen, rollout)

    def _rollback(self, actor: Actor, environment: Environment, version: int | None) -> Result:
        core = self.core
        target = f"{environment}"
        if (denied := core._guard(actor, Action.ROLLBACK, target, version, environment)) is not None:
            return denied
        self.recovery.settle_own()
        plan = self.queries.rollback_plan(environment, version, with_path=False)
        if isinstance(plan, str):
            current = core.serving(environment)
            outcome = Outcome.NOOP if version is not None and version == current else Outcome.REFUSED
            if outcome is Outcome.NOOP:
                plan = f"{environment} already serves v{version}."
            return core._refuse(
                actor,
                Action.ROLLBACK,
                target,
                plan,
                version=version,
                environment=environment,
                outcome=outcome,
            )
        if plan.to_version == plan.from_version:
            return core._refuse(
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
        broken: BrokenFreeze | None = None,
        override: RolloutPolicy | None = None,
    ) -> Result:
        core = self.core
        target = f"v{version}->{environment}"
        policy = None if kind == "rollback" else (override or core.rollouts.get(environment))
        marker: dict[str, object] = {
            "action": action.value,
            "version": version,
            "previous": previous,
            "kind": kind,
            "actor": actor.label,
            "actor_id": actor.id,
            "owner": core.owner,
            "instance": core.instance,
            "since": core.clock.now().isoformat(),
        }
        if policy is not None:
            marker["rollout"] = policy.describe()
            marker["rollout_override"] = override is not None
        holder = core.records.begin(environment, marker)
        if holder is not None:
            return core._refuse(
                actor,
                action,
                target,
                f"{environment} is busy: {holder.get('actor', 'someone')} is running "
                f"{holder.get('action', 'an operation')} of v{holder.get('version', '?')} "
                "there. Try again when it finishes.",
                version=version,
                environment=environment,
            )
        with core._lock:
            core._active.add(environment)
        core._switch_started(environment)
        # The in-flight marker is removed only once the store agrees with the platform; otherwise it
        # stays for ``recovery`` (this process's next operation, or ``recover`` after a restart).
        settled = False
        problem = ""
        try:
            try:
                if kind == "rollback":
                    core.platform.rollback(environment, version, actor.label)
                else:
                    core.platform.deploy(environment, version, actor.label, rollout=policy)
            except RolledBack as exc:
                settled = True  # the records already say what serves: the update never counts
                undone = rollouts.result(actor, action, version, environment, kind, exc, policy)
                return self.recovery.rolled_back(undone, marker)
            except PlatformError as exc:
                switched = core._serves(environment, version)
                if not switched:
                    settled = switched is False
                    unknown = "" if settled else f" Could not confirm what {environment} serves now."
                    return core._refuse(
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
            record = DeploymentRecord(environment, version, previous, by.id, by.label, core.clock.now(), kind)
            core.records.add_deployment(record)
            result = self._done(action, version, environment, previous, kind, by, problem, policy)
            if broken is not None:
                result = broken.flag(result)
            core._audit(result, target, rollouts.audit_detail(result.message, policy, override is not None))
            # Released once audited too (a stop before this leaves the marker for recovery, which
            # audits the switch if nobody did), and before the announcement: whoever reads it may act.
            settled = True
        finally:
            with core._lock:
                core._active.discard(environment)
            if settled:
                core.records.end(environment)
        core._announce(result, target)
        if kind == "deploy" and environment == "staging" and core.auto_validate_staging:
            self.validation.validate(SYSTEM, version)
        return result

    @staticmethod
    def _done(
        action: Action,
        version: int,
        environment: Environment,
        previous: int | None,
        kind: DeploymentKind,
        by: Actor,
        problem: str,
        policy: RolloutPolicy | None = None,
    ) -> Result:
        verbs = {"deploy": "Deployed", "promote": "Promoted", "rollback": "Rolled back"}
        prev = f" (was v{previous})" if previous is not None else ""
        message = (
            f"{verbs[kind]} {environment} to v{version}{prev}."
            if kind == "rollback"
            else f"{verbs[kind]} v{version} to {environment}{prev}."
        ) + problem
        data: dict[str, object] = {"from_version": previous, "to_version": version, "kind": kind}
        if policy is not None:
            data["rollout"] = policy.describe()
        return Result(action, Outcome.DONE, message, by, version, environment, data=data)
