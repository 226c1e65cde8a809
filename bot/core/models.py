"""Domain types of a model release.

Plain frozen dataclasses: every front end (Slack, CLI, terminal chat) renders the
same ``Result`` values, and the store persists them as JSON dictionaries.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from ml.platform import ApprovalStatus, Environment, ModelPackage

if TYPE_CHECKING:
    from .votes import Tally

__all__ = [
    "AUDITED_ACTIONS",
    "Action",
    "Actor",
    "ApprovalStatus",
    "AuditEntry",
    "AuditFilter",
    "Decision",
    "DeploymentRecord",
    "Environment",
    "Outcome",
    "Result",
    "Role",
    "ValidationReport",
    "VersionView",
    "parse_time",
]


DeploymentKind = Literal["deploy", "promote", "rollback"]


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def format_time(value: datetime) -> str:
    """Fixed-width UTC ISO time: sorts lexicographically, which the store relies on."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Role(enum.StrEnum):
    TRAINER = "trainer"
    APPROVER = "approver"
    RELEASER = "releaser"
    ONCALL = "oncall"


class Action(enum.StrEnum):
    """Everything a person (or CI) can ask the bot to do."""

    HELP = "help"
    STATUS = "status"
    HISTORY = "history"
    AUDIT = "audit"
    DRIFT = "drift"
    TRAIN = "train"
    STOP = "stop"
    APPROVE = "approve"
    REJECT = "reject"
    DEPLOY = "deploy"
    VALIDATE = "validate"
    PROMOTE = "promote"
    ROLLBACK = "rollback"
    ACKNOWLEDGE = "acknowledge"
    CARD = "card"
    #: approval expiry: a trainer restarts an expired approval window; the bot closes one
    REQUEST_APPROVAL = "request-approval"
    EXPIRE = "expire"
    # change freezes
    FREEZE = "freeze"
    UNFREEZE = "unfreeze"
    #: a promote through a production freeze: oncall's role counts there, not the releaser's
    BREAK_GLASS = "break-glass"
    # progressive delivery: a person cuts a running rollout short; the bot retires a warm standby
    STOP_ROLLOUT = "stop-rollout"
    FINISH_ROLLOUT = "finish-rollout"
    RETIRE_WARM = "retire-warm"


class Outcome(enum.StrEnum):
    DONE = "done"  # state changed
    NOOP = "noop"  # repeat of something already done: nothing changed
    REFUSED = "refused"  # policy or input said no: nothing changed
    FAILED = "failed"  # the platform failed: nothing changed (or rolled back)
    ROLLED_BACK = "rolled_back"  # the platform undid the change itself: the previous version serves


@dataclass(frozen=True)
class Actor:
    """Who acts. ``roles`` are resolved by the front end (Slack user groups, local users file)."""

    id: str
    name: str
    roles: frozenset[Role] = frozenset()
    system: bool = False  # CI reports, platform events
    #: the identity four-eyes maps to a person when it is not ``id`` (CI acting for a GitHub user)
    on_behalf_of: str = ""
    #: the user group handles the actor belongs to, resolved by the front end as ``roles`` are
    groups: frozenset[str] = frozenset()

    def __deepcopy__(self, memo: dict[int, object]) -> Actor:
        return self  # immutable all through: a copy would only cost time (Bolt copies every request)

    @property
    def identity(self) -> str:
        return self.on_behalf_of or self.id

    @property
    def label(self) -> str:
        return self.name or self.id


@dataclass(frozen=True)
class Decision:
    """The one approval decision of a version (approve or reject), as persisted."""

    version: int
    status: ApprovalStatus
    actor_id: str
    actor_name: str
    at: datetime
    reason: str = ""
    source: Literal["bot", "external"] = "bot"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = self.status.value
        d["at"] = format_time(self.at)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Decision:
        return cls(
            version=int(d["version"]),
            status=ApprovalStatus(d["status"]),
            actor_id=str(d["actor_id"]),
            actor_name=str(d["actor_name"]),
            at=parse_time(str(d["at"])),
            reason=str(d.get("reason", "")),
            source=d.get("source", "bot"),
        )


@dataclass(frozen=True)
class DeploymentRecord:
    environment: Environment
    version: int
    previous_version: int | None
    actor_id: str
    actor_name: str
    at: datetime
    kind: DeploymentKind = "deploy"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["at"] = format_time(self.at)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DeploymentRecord:
        prev = d.get("previous_version")
        return cls(
            environment=d["environment"],
            version=int(d["version"]),
            previous_version=None if prev is None else int(prev),
            actor_id=str(d["actor_id"]),
            actor_name=str(d["actor_name"]),
            at=parse_time(str(d["at"])),
            kind=d.get("kind", "deploy"),
        )


@dataclass(frozen=True)
class ValidationReport:
    version: int
    environment: Environment
    passed: bool
    at: datetime
    source: str  # "local", "ci:<repo>@<run>", ...
    summary: str = ""
    report: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "environment": self.environment,
            "passed": self.passed,
            "at": format_time(self.at),
            "source": self.source,
            "summary": self.summary,
            "report": dict(self.report),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ValidationReport:
        return cls(
            version=int(d["version"]),
            environment=d["environment"],
            passed=bool(d["passed"]),
            at=parse_time(str(d["at"])),
            source=str(d.get("source", "")),
            summary=str(d.get("summary", "")),
            report=dict(d.get("report", {})),
        )


#: a target that names a version (``v3``, ``v3->staging``, ``v3@staging``): entries written before
#: the version was recorded on its own are placed by it
_TARGET_VERSION = re.compile(r"v([0-9]{1,9})(?:->|@|$)")


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor_id: str
    actor_name: str
    action: Action
    outcome: Outcome
    target: str
    detail: str = ""
    version: int | None = None  # the model version acted on, when there is one
    #: a deploy or promote that went through a change freeze (break-glass)
    break_glass: bool = False

    def to_dict(self) -> dict[str, Any]:
        flag = {"break_glass": True} if self.break_glass else {}
        return {
            "at": format_time(self.at),
            "actor_id": self.actor_id,
            "actor_name": self.actor_name,
            "action": self.action.value,
            "outcome": self.outcome.value,
            "target": self.target,
            "detail": self.detail,
            "version": self.version,
            **flag,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AuditEntry:
        target = str(d["target"])
        version = d.get("version")
        if version is None and (m := _TARGET_VERSION.match(target)):
            version = m.group(1)
        return cls(
            at=parse_time(str(d["at"])),
            actor_id=str(d["actor_id"]),
            actor_name=str(d["actor_name"]),
            action=Action(d["action"]),
            outcome=Outcome(d["outcome"]),
            target=target,
            detail=str(d.get("detail", "")),
            version=None if version is None else int(version),
            break_glass=d.get("break_glass") is True,
        )


#: the actions an audit entry can record (help is answered, never audited)
AUDITED_ACTIONS: tuple[Action, ...] = tuple(a for a in Action if a is not Action.HELP)


@dataclass(frozen=True)
class AuditFilter:
    """Which audit entries a reader wants; a field left ``None`` matches every entry."""

    version: int | None = None
    #: a user id (exact) or a name (any case), as the actor was recorded
    actor: str | None = None
    action: Action | None = None

    def matches(self, entry: AuditEntry) -> bool:
        if self.version is not None and entry.version != self.version:
            return False
        if self.action is not None and entry.action is not self.action:
            return False
        if self.actor is not None:
            return entry.actor_id == self.actor or entry.actor_name.casefold() == self.actor.casefold()
        return True

    @property
    def narrows(self) -> bool:
        return (self.version, self.actor, self.action) != (None, None, None)


@dataclass(frozen=True)
class VersionView:
    """Everything a release card shows about one version, merged from platform and store."""

    package: ModelPackage
    decision: Decision | None
    validation: ValidationReport | None
    environments: tuple[Environment, ...]  # where it serves now
    production_metrics: Mapping[str, float] | None  # the model in production, for deltas
    production_version: int | None
    #: why four-eyes cannot place who trained this version ("" when it can)
    requester_note: str = ""
    #: the approvals counted so far under an N-of-M rule (None under the single-approval rule)
    approvals: Tally | None = None

    @property
    def version(self) -> int:
        return self.package.version

    @property
    def approval(self) -> ApprovalStatus:
        return self.package.approval_status

    @property
    def approved_outside(self) -> bool:
        """Approved in the registry, but by nobody in the bot: it cannot be deployed yet."""
        return self.approval is ApprovalStatus.APPROVED and (
            self.decision is None or self.decision.source == "external"
        )

    @property
    def promotable(self) -> bool:
        return self.not_promotable_because is None

    @property
    def not_promotable_because(self) -> str | None:
        """Why this version cannot be promoted now, in words for its card; None when it can."""
        if self.approval is ApprovalStatus.REJECTED:
            return "it was rejected"
        if self.approval is not ApprovalStatus.APPROVED:
            return "it is not approved yet"
        if self.approved_outside:
            return "it was approved outside mlops-bot, not by an approver here"
        if "production" in self.environments:
            return "it already serves production"
        if self.validation is None:
            return "its staging validation has not run yet"
        if not self.validation.passed:
            return "its staging validation failed"
        return None


@dataclass(frozen=True)
class Result:
    """What an operation did, for every front end to render."""

    action: Action
    outcome: Outcome
    message: str
    actor: Actor
    version: int | None = None
    environment: Environment | None = None
    #: structured payload (execution id, report, from/to versions, ...)
    data: Mapping[str, Any] = field(default_factory=dict)
    #: the role that was missing, when refused for permissions
    required_role: Role | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in (Outcome.DONE, Outcome.NOOP)
