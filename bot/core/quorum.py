"""Approving under an N-of-M rule: each approval is a vote bound to the version's artifact identity.

A vote is persisted before it is announced. Votes cast against another artifact identity (the
package, its model data or its image changed since) are voided first, and the card says why. The
version is approved in the registry only by the vote that meets the rule (``approvals._decide``
does that part, as for a single approval).
"""

from __future__ import annotations

from ml.platform import ApprovalStatus, ModelPackage, PlatformError

from .base import SYSTEM, ReleaseCore
from .identity import canonical
from .models import Action, Actor, Outcome, Result
from .votes import ApprovalRule, Tally, Voided, Vote, VoteRecords, tally_of

__all__ = ["Quorum"]

PENDING = ApprovalStatus.PENDING.value


class Quorum:
    def __init__(self, core: ReleaseCore, rule: ApprovalRule) -> None:
        self.core = core
        self.rule = rule
        self.records = VoteRecords(core.records.store)

    def tally(self, version: int) -> Tally | None:
        """The version's approvals so far; None under the single-approval rule (nothing to count)."""
        return tally_of(self.records, self.rule, version)

    def voter(self, actor: Actor) -> str:
        """One vote per person: the identity map's name when it knows the actor, else their identity."""
        person = self.core.identities.person_of(actor.identity)
        return f"person:{person.name}" if person is not None else canonical(actor.identity)

    def vote(self, actor: Actor, package: ModelPackage, reason: str) -> Result | Tally:
        """Record ``actor``'s vote: a Result when the request ends here (recorded and waiting, a repeat,
        a refusal), else the tally the vote completed, for the caller to approve the version."""
        core, version = self.core, package.version
        target = f"v{version}"
        try:
            artifact = core.platform.artifact_identity(version)
        except PlatformError as exc:
            return core._refuse(
                actor,
                Action.APPROVE,
                target,
                f"Could not read what v{version} is made of (package, model data, image), so the "
                f"approval cannot be bound to it: {exc} Nothing changed.",
                version=version,
                outcome=Outcome.FAILED,
            )
        votes = self.records.votes(version)
        stale = [v for v in votes if v.artifact != artifact]
        voided: Voided | None = None
        if stale:
            changes = artifact.changes_since(stale[-1].artifact)
            why = "approvals voided: " + "; ".join(changes)
            voided = self.records.void(version, stale, why, core.clock.now())
            names = ", ".join(v.actor_name for v in stale)
            core._audit(
                Result(Action.APPROVE, Outcome.DONE, f"{why} ({names} no longer count)", SYSTEM, version),
                target,
            )
            votes = [v for v in votes if v not in stale]
        voter = self.voter(actor)
        tally = Tally.of(self.rule, votes, voided)
        mine = Vote(
            version,
            voter,
            actor.id,
            actor.label,
            tuple(g for g in self.rule.groups if g in actor.groups),
            core.clock.now(),
            artifact,
            reason,
        )
        if any(v.voter == voter for v in votes):
            # met already: the approval that followed the last vote failed, and this one retries it
            return tally if tally.met else self._already(actor, version, tally)
        if not tally.helps(mine):
            where = " or ".join(tally.missing)
            return core._refuse(
                actor,
                Action.APPROVE,
                target,
                f"v{version} now needs an approval from a member of {where} ({tally.line()}); you are "
                "not one, so your approval would not count. Nothing changed.",
                version=version,
                data={"status": PENDING, "approvals": tally.line()},
            )
        if self.records.add(mine) is not None:  # the same person, clicking twice at once
            return self._already(actor, version, tally)
        tally = Tally.of(self.rule, [*votes, mine], voided)
        if tally.met:
            return tally
        note = f"{voided.reason[0].upper()}{voided.reason[1:]}. " if voided is not None else ""
        return core._finish(
            Result(
                Action.APPROVE,
                Outcome.DONE,
                f"{note}Recorded your approval of v{version}: {tally.line()}.",
                actor,
                version,
                data={"status": PENDING, "approvals": tally.line(), "reason": reason},
            ),
            target,
        )

    def _already(self, actor: Actor, version: int, tally: Tally) -> Result:
        current = self.tally(version) or tally
        return self.core._refuse(
            actor,
            Action.APPROVE,
            f"v{version}",
            f"You already approved v{version}; it counts once: {current.line()}.",
            version=version,
            outcome=Outcome.NOOP,
            data={"status": PENDING, "approvals": current.line()},
        )
