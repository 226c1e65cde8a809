"""N-of-M approvals: the rule, the votes recorded against a version's artifact identity, their tally.

Key layout:
- ``approval_vote`` ``v00000003#<voter>`` -> Vote (one per person and version)
- ``approval_void`` ``v00000003``         -> why earlier votes of the version were voided, and when

A voter is the person the identity map names, else the actor's canonical identity, so one person
clicking from Slack and from the CLI holds one vote.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ml.platform import ArtifactIdentity

from .models import format_time, parse_time
from .records import version_key
from .store import Store

__all__ = [
    "ApprovalRule",
    "Tally",
    "Voided",
    "Vote",
    "VoteRecords",
    "count_words",
    "missing_groups",
    "tally_of",
]

NS_VOTE = "approval_vote"
NS_VOID = "approval_void"

_WORDS = ("no", "one", "two", "three", "four", "five")


def count_words(n: int) -> str:
    return _WORDS[n] if 0 <= n < len(_WORDS) else str(n)


@dataclass(frozen=True)
class ApprovalRule:
    """``required`` approvals in all, at least one from a member of each of ``groups``."""

    required: int = 1
    groups: tuple[str, ...] = ()

    @property
    def single(self) -> bool:
        """The default rule: one approval from anyone with the approver role decides."""
        return self.required == 1 and not self.groups


@dataclass(frozen=True)
class Vote:
    version: int
    voter: str
    actor_id: str
    actor_name: str
    groups: tuple[str, ...]
    at: datetime
    artifact: ArtifactIdentity
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "voter": self.voter,
            "actor_id": self.actor_id,
            "actor_name": self.actor_name,
            "groups": list(self.groups),
            "at": format_time(self.at),
            "artifact": self.artifact.to_dict(),
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Vote:
        return cls(
            version=int(d["version"]),
            voter=str(d["voter"]),
            actor_id=str(d["actor_id"]),
            actor_name=str(d["actor_name"]),
            groups=tuple(str(g) for g in d.get("groups", ())),
            at=parse_time(str(d["at"])),
            artifact=ArtifactIdentity.from_dict(d["artifact"]),
            reason=str(d.get("reason", "")),
        )


@dataclass(frozen=True)
class Voided:
    """Why a version's earlier votes stopped counting."""

    reason: str
    at: datetime
    voters: tuple[str, ...] = ()


def missing_groups(rule: ApprovalRule, votes: Iterable[Vote]) -> tuple[str, ...]:
    """The required groups no distinct voter covers, under the best assignment of voters to groups."""
    voters = list(votes)
    owner: dict[int, str] = {}  # voter index -> the group it covers

    def assign(group: str, seen: set[int]) -> bool:
        for i, vote in enumerate(voters):
            if group in vote.groups and i not in seen:
                seen.add(i)
                if i not in owner or assign(owner[i], seen):
                    owner[i] = group
                    return True
        return False

    return tuple(g for g in rule.groups if not assign(g, set()))


def _still_needed(rule: ApprovalRule, votes: Iterable[Vote]) -> int:
    counted = list(votes)
    return max(rule.required - len(counted), len(missing_groups(rule, counted)))


def _plain(vote: Vote) -> str:
    return "@" + vote.actor_name


@dataclass(frozen=True)
class Tally:
    rule: ApprovalRule
    votes: tuple[Vote, ...]
    voided: Voided | None = None
    missing: tuple[str, ...] = field(default=())

    @classmethod
    def of(cls, rule: ApprovalRule, votes: Iterable[Vote], voided: Voided | None = None) -> Tally:
        counted = tuple(sorted(votes, key=lambda v: v.at))
        return cls(rule, counted, voided, missing_groups(rule, counted))

    @property
    def needed(self) -> int:
        return _still_needed(self.rule, self.votes)

    @property
    def met(self) -> bool:
        return self.needed == 0

    def helps(self, vote: Vote) -> bool:
        """Whether ``vote`` brings the rule closer to being met."""
        return _still_needed(self.rule, (*self.votes, vote)) < self.needed

    def line(self, name: Callable[[Vote], str] = _plain, group: Callable[[str], str] = str) -> str:
        """``1 of 2 approvals: @bob ✓, waiting for one more from ml-approvers``."""
        head = f"{len(self.votes)} of {self.rule.required} approvals"
        marks = ", ".join(f"{name(v)} ✓" for v in self.votes)
        text = f"{head}: {marks}" if marks else head
        return text if self.met else f"{text}, {self.waiting(group)}"

    def waiting(self, group: Callable[[str], str] = str) -> str:
        need, missing = self.needed, [group(g) for g in self.missing]
        if not missing:
            return f"waiting for {count_words(need)} more"
        where = missing[0] if len(missing) == 1 else ", ".join(missing[:-1]) + f" and {missing[-1]}"
        each = "one" if len(missing) == 1 else "one each"
        if need == len(missing):
            return f"waiting for {'one more' if need == 1 else each} from {where}"
        return f"waiting for {count_words(need)} more, including {each} from {where}"


class VoteRecords:
    def __init__(self, store: Store) -> None:
        self.store = store

    def votes(self, version: int) -> list[Vote]:
        return [Vote.from_dict(v) for _, v in self.store.query(NS_VOTE, version_key(version) + "#")]

    def add(self, vote: Vote) -> Vote | None:
        """Persist ``vote`` unless the voter holds one; returns the one they hold, or None."""
        key = f"{version_key(vote.version)}#{vote.voter}"
        if self.store.put_if_absent(NS_VOTE, key, vote.to_dict()):
            return None
        held = self.store.get(NS_VOTE, key)
        return vote if held is None else Vote.from_dict(held)

    def void(self, version: int, votes: Iterable[Vote], reason: str, at: datetime) -> Voided:
        """Drop ``votes`` and record why (written first: a crash in between leaves the reason, not a
        silent loss)."""
        dropped = list(votes)
        voided = Voided(reason, at, tuple(v.actor_name for v in dropped))
        self.store.put(
            NS_VOID,
            version_key(version),
            {"reason": reason, "at": format_time(at), "voters": list(voided.voters)},
        )
        for vote in dropped:
            self.store.delete(NS_VOTE, f"{version_key(version)}#{vote.voter}")
        return voided

    def voided(self, version: int) -> Voided | None:
        d = self.store.get(NS_VOID, version_key(version))
        if d is None:
            return None
        return Voided(str(d["reason"]), parse_time(str(d["at"])), tuple(str(v) for v in d.get("voters", ())))


def tally_of(records: VoteRecords, rule: ApprovalRule, version: int) -> Tally | None:
    """The version's approvals so far; None under the single-approval rule (nothing to count)."""
    if rule.single:
        return None
    return Tally.of(rule, records.votes(version), records.voided(version))
