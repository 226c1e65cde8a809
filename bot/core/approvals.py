"""Approval decisions: approve and reject (four-eyes included), approvals made outside, auto-approval.

One decision per version, written once. A decision taken outside the bot (console, CLI) is adopted
so the card and audit agree, but an outside approval does not count until an approver confirms it
here. An approval deploys to staging when ``auto_deploy_staging`` is on.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from ml.platform import ApprovalStatus, ModelPackage, PlatformError

from .base import SYSTEM, ReleaseCore
from .expiry import ApprovalExpiry
from .identity import four_eyes_problem
from .models import Action, Actor, Decision, Outcome, Result
from .queries import when
from .quorum import Quorum
from .recovery import Recovery
from .votes import Tally

if TYPE_CHECKING:
    from .switches import Switches

log = logging.getLogger(__name__)

#: the bot approving a new version because the operator turned on MLOPS_AUTO_APPROVE
AUTO_APPROVER = Actor(id="mlops-bot", name="mlops-bot (auto-approval)", system=True)
AUTO_APPROVAL_REASON = "auto-approval is configured (MLOPS_AUTO_APPROVE)"


class Approvals:
    def __init__(self, core: ReleaseCore, recovery: Recovery, switches: Switches) -> None:
        self.core = core
        self.recovery = recovery
        self.switches = switches
        self.quorum = Quorum(core, core.approval_rule)

    def approve(self, actor: Actor, version: int, reason: str = "") -> Result:
        if (expired := ApprovalExpiry(self.core).refuse_expired(actor, version)) is not None:
            return expired
        result = self._decide(actor, version, ApprovalStatus.APPROVED, reason)
        # A repeat also deploys when the first approval was persisted but its staging deploy never
        # ran (the process died, or a store write failed, in between).
        # (An approval counted towards an N-of-M rule approves nothing yet: its status stays Pending.)
        approved = result.data.get("status") == ApprovalStatus.APPROVED.value
        missed = approved and result.outcome is Outcome.NOOP and self._staging_missed(version)
        if approved and (result.outcome is Outcome.DONE or missed) and self.core.auto_deploy_staging:
            self.switches.deploy(SYSTEM, version, "staging", requested_by=actor)
        return result

    def reject(self, actor: Actor, version: int, reason: str) -> Result:
        if not reason.strip():
            return self.core._refuse(
                actor,
                Action.REJECT,
                f"v{version}",
                f"A rejection needs a reason: `reject v{version} <reason>`.",
                version=version,
            )
        return self._decide(actor, version, ApprovalStatus.REJECTED, reason)

    def four_eyes_problem(self, package: ModelPackage, approver: str) -> str | None:
        requester = package.lineage.get("requested_by", "")
        return four_eyes_problem(
            self.core.identities,
            requester,
            approver,
            package.version,
            allow_unmapped=self.core.allow_unmapped,
        )

    def sync_approval(self, package: ModelPackage) -> Decision | None:
        """Adopt an approval change made outside the bot (from a platform event); None if unchanged.

        A new Pending version is approved by the bot itself when the operator turned on
        auto-approval. An Approved state the bot did not set is announced as made outside the bot,
        naming who and how when the registry says, and stays undeployable until an approver
        approves it here (``_decide``, four-eyes included).
        """
        core = self.core
        existing = core.records.decision(package.version)
        if package.approval_status is ApprovalStatus.PENDING:
            if existing is not None:
                core.records.release_decision(package.version)
            elif core.auto_approve:
                self.approve(AUTO_APPROVER, package.version, AUTO_APPROVAL_REASON)
                return core.records.decision(package.version)
            return None
        if existing is not None and existing.status is package.approval_status:
            return None
        decision = external(package, core.clock.now())
        core.records.force_decision(decision)
        message = f"v{package.version} is now {package.approval_status.value} (changed outside mlops-bot"
        message += f" by {package.modified_by}" if package.modified_by else ""
        message += f': "{package.approval_description}")' if package.approval_description else ")"
        if decision.status is ApprovalStatus.APPROVED:
            message += (
                f". It cannot be deployed until an approver who did not request its training run "
                f"approves it in mlops-bot (`approve v{package.version}`)."
            )
        core._finish(
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

    def _staging_missed(self, version: int) -> bool:
        """Staging never served ``version`` and serves nothing newer: its approval deploy is owed."""
        if any(r.version == version for r in self.core.records.deployments("staging")):
            return False
        try:
            current = self.core.serving("staging")
        except PlatformError:
            return False
        return current is None or current < version

    def _decide(self, actor: Actor, version: int, status: ApprovalStatus, reason: str) -> Result:
        core = self.core
        action = Action.APPROVE if status is ApprovalStatus.APPROVED else Action.REJECT
        target = f"v{version}"
        if (denied := core._guard(actor, action, target, version)) is not None:
            return denied
        self.recovery.settle_own()
        package = core._package(actor, action, version)
        if isinstance(package, Result):
            return package
        existing = core.records.decision(version)
        if existing is None and package.approval_status is not ApprovalStatus.PENDING:
            # decided outside the bot (console, CLI): adopt it so the card and audit agree
            existing = external(package, package.created_at)
            core.records.force_decision(existing)
        # An approval made outside the bot stays unconfirmed until an approver decides here.
        outside = existing is not None and unconfirmed(existing)
        if existing is not None and not outside:
            return self._repeat(actor, action, version, existing, status)
        if (
            core.four_eyes
            and status is ApprovalStatus.APPROVED
            and (problem := self.four_eyes_problem(package, actor.identity)) is not None
        ):
            return core._refuse(actor, action, target, problem, version=version)
        tally: Tally | None = None
        if status is ApprovalStatus.APPROVED and not actor.system and not core.approval_rule.single:
            counted = self.quorum.vote(actor, package, reason)
            if isinstance(counted, Result):
                return counted
            tally = counted
        decision = Decision(version, status, actor.id, actor.label, core.clock.now(), reason)
        if outside:
            core.records.force_decision(decision)  # replaces the outside approval
        elif (winner := core.records.claim_decision(decision)) is not None:
            return self._repeat(actor, action, version, winner, status)
        verb = "Approved" if status is ApprovalStatus.APPROVED else "Rejected"
        description = f"{verb} by {actor.label} ({actor.id}) via mlops-bot" + (
            f": {reason}" if reason else ""
        )
        if tally is not None:
            description += f" ({tally.line()})"
        try:
            core.platform.update_approval(version, status, description[:1000])
        except PlatformError as exc:
            if self._decided_anyway(version, status):
                log.warning("v%s: the registry took the decision although the call failed: %s", version, exc)
            else:
                core.records.release_decision(version)
                return core._refuse(
                    actor,
                    action,
                    target,
                    f"Could not record the decision: {exc}",
                    version=version,
                    outcome=Outcome.FAILED,
                )
        message = f"{verb} v{version}" + (f": {reason}" if reason else ".")
        data = {"status": status.value, "reason": reason}
        if tally is not None:
            message = f"{verb} v{version} ({tally.line()})" + (f": {reason}" if reason else ".")
            data["approvals"] = tally.line()
        return core._finish(Result(action, Outcome.DONE, message, actor, version, data=data), target)

    def _decided_anyway(self, version: int, status: ApprovalStatus) -> bool:
        """After a failed approval update: did the registry apply it (a response lost on the way)?"""
        try:
            return self.core.platform.describe_model_package(version).approval_status is status
        except PlatformError:
            return False

    def _repeat(
        self, actor: Actor, action: Action, version: int, existing: Decision, wanted: ApprovalStatus
    ) -> Result:
        word = "approved" if existing.status is ApprovalStatus.APPROVED else "rejected"
        msg = f"v{version} was already {word} by {existing.actor_name} at {when(existing.at)}."
        same = existing.status is wanted
        return self.core._refuse(
            actor,
            action,
            f"v{version}",
            msg if same else msg + " Nothing changed.",
            version=version,
            outcome=Outcome.NOOP if same else Outcome.REFUSED,
            data={"decided_by": existing.actor_name, "status": existing.status.value},
        )


def external(package: ModelPackage, at: datetime) -> Decision:
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


def unconfirmed(decision: Decision) -> bool:
    """An approval nobody gave in the bot: it does not count until an approver confirms it here."""
    return decision.source == "external" and decision.status is ApprovalStatus.APPROVED
