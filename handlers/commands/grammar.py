"""The ``/mlops`` grammar: the subcommands, their usage lines, limits and typed command shapes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from bot.core.models import Action, AuditFilter
from ml.platform import Environment
from ml.rollout_policy import RolloutPolicy

#: Slack caps slash command text far below this; anything longer is not a real command.
MAX_TEXT = 4000
MAX_REASON = 1000
AUDIT_MAX = 100
AUDIT_DEFAULT = 20

USAGE: dict[str, str] = {
    "help": "/mlops help",
    "train": "/mlops train [key=value ...]",
    "stop": "/mlops stop <execution-id>",
    "status": "/mlops status [vN|staging|production]",
    "approve": "/mlops approve vN [reason]",
    "reject": "/mlops reject vN <reason>",
    "deploy": "/mlops deploy vN staging",
    "validate": "/mlops validate [vN]",
    "promote": '/mlops promote vN [<rollout>] [break-glass "<reason>"]',
    "rollback": "/mlops rollback staging|production [vN]",
    "stop-rollout": "/mlops rollout stop staging|production",
    "finish-rollout": "/mlops rollout finish staging|production",
    "history": "/mlops history staging|production",
    "drift": "/mlops drift staging|production [30m|24h|7d]",
    "acknowledge": "/mlops acknowledge staging|production [4h]",
    "card": "/mlops card vN",
    "request-approval": "/mlops request-approval vN",
    "audit": f"/mlops audit [N] [vN] [@person] [action]   (N from 1 to {AUDIT_MAX})",
    "freeze": '/mlops freeze staging|production <30m|4h|3d> "<reason>"',
    "unfreeze": "/mlops unfreeze staging|production",
}

SUBCOMMANDS: dict[str, Action] = {name: Action(name) for name in USAGE}
#: ``/mlops rollout stop|finish ENV``: one typed word, two actions (also typed ``stop-rollout ENV``)
ROLLOUT_WORD = "rollout"
ROLLOUT_VERBS: dict[str, Action] = {"stop": Action.STOP_ROLLOUT, "finish": Action.FINISH_ROLLOUT}

#: a model version as people type it: ``v3``, ``V3`` or ``3``
VERSION = re.compile(r"[vV]?([0-9]{1,9})")
EXECUTION_ID = re.compile(r"[A-Za-z0-9:/._-]{1,256}")
PARAM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")
#: a person as Slack sends a mention in command text: ``<@U123|bob>`` or ``<@U123>``
MENTION = re.compile(r"<@([UW][A-Z0-9]{2,30})(?:\|[^<>]{0,80})?>")


@dataclass(frozen=True)
class Help:
    action: Action = Action.HELP
    target: str = "help"


@dataclass(frozen=True)
class Train:
    parameters: Mapping[str, str] = field(default_factory=dict)
    action: Action = Action.TRAIN
    target: str = "pipeline"


@dataclass(frozen=True)
class Stop:
    execution_id: str
    action: Action = Action.STOP

    @property
    def target(self) -> str:
        return f"execution:{self.execution_id}"


@dataclass(frozen=True)
class Status:
    version: int | None = None
    environment: Environment | None = None
    action: Action = Action.STATUS

    @property
    def target(self) -> str:
        if self.version is not None:
            return f"v{self.version}"
        return self.environment or "all"


@dataclass(frozen=True)
class Approve:
    version: int
    reason: str = ""
    action: Action = Action.APPROVE

    @property
    def target(self) -> str:
        return f"v{self.version}"


@dataclass(frozen=True)
class RequestApproval:
    """Restart an expired approval window (approval expiry)."""

    version: int
    action: Action = Action.REQUEST_APPROVAL

    @property
    def target(self) -> str:
        return f"v{self.version}"


@dataclass(frozen=True)
class Reject:
    version: int
    reason: str
    action: Action = Action.REJECT

    @property
    def target(self) -> str:
        return f"v{self.version}"


@dataclass(frozen=True)
class Deploy:
    version: int
    environment: Environment
    action: Action = Action.DEPLOY

    @property
    def target(self) -> str:
        return f"v{self.version}->{self.environment}"


@dataclass(frozen=True)
class Validate:
    version: int | None = None
    action: Action = Action.VALIDATE

    @property
    def target(self) -> str:
        return "staging" if self.version is None else f"v{self.version}@staging"


@dataclass(frozen=True)
class Promote:
    version: int
    #: oncall's reason to promote through a production freeze; "" for an ordinary promote
    break_glass: str = ""
    #: how traffic moves for this promote; None: production's configured policy
    rollout: RolloutPolicy | None = None
    action: Action = Action.PROMOTE

    @property
    def target(self) -> str:
        return f"v{self.version}->production"


@dataclass(frozen=True)
class Rollback:
    environment: Environment
    version: int | None = None
    action: Action = Action.ROLLBACK

    @property
    def target(self) -> str:
        return self.environment


@dataclass(frozen=True)
class RolloutControl:
    """Stop (and roll back) or finish the rollout running on an environment."""

    environment: Environment
    action: Action = Action.STOP_ROLLOUT

    @property
    def target(self) -> str:
        return f"rollout:{self.environment}"


@dataclass(frozen=True)
class History:
    environment: Environment
    action: Action = Action.HISTORY

    @property
    def target(self) -> str:
        return self.environment


@dataclass(frozen=True)
class Drift:
    environment: Environment
    since: timedelta = timedelta(hours=24)
    action: Action = Action.DRIFT

    @property
    def target(self) -> str:
        return self.environment


@dataclass(frozen=True)
class Acknowledge:
    environment: Environment
    duration: timedelta = timedelta(hours=4)
    action: Action = Action.ACKNOWLEDGE

    @property
    def target(self) -> str:
        return f"drift:{self.environment}"


@dataclass(frozen=True)
class Freeze:
    environment: Environment
    duration: timedelta
    reason: str
    action: Action = Action.FREEZE

    @property
    def target(self) -> str:
        return f"freeze:{self.environment}"


@dataclass(frozen=True)
class Unfreeze:
    environment: Environment
    action: Action = Action.UNFREEZE

    @property
    def target(self) -> str:
        return f"freeze:{self.environment}"


@dataclass(frozen=True)
class Card:
    version: int
    action: Action = Action.CARD

    @property
    def target(self) -> str:
        return f"v{self.version}"


@dataclass(frozen=True)
class Audit:
    limit: int = AUDIT_DEFAULT
    where: AuditFilter = field(default_factory=AuditFilter)
    action: Action = Action.AUDIT
    target: str = "audit"


Command = (
    Help
    | Train
    | Stop
    | Status
    | Approve
    | Reject
    | RequestApproval
    | Deploy
    | Validate
    | Promote
    | Rollback
    | RolloutControl
    | History
    | Drift
    | Acknowledge
    | Audit
    | Freeze
    | Unfreeze
    | Card
)


def subcommand_action(text: str) -> Action | None:
    """The action the first word asks for (exact, case-insensitive), before validating arguments.

    Permission is checked on this alone so that someone without the role is told so
    rather than being coached on arguments they cannot use.
    """
    words = text.split(maxsplit=2)
    if not words:
        return Action.HELP
    if words[0].lower() == ROLLOUT_WORD:
        return ROLLOUT_VERBS.get(words[1].lower()) if len(words) > 1 else None
    return SUBCOMMANDS.get(words[0].lower())


def version_number(token: str) -> int | None:
    """The number in a version token (``v3`` -> 3); None if it is not one."""
    m = VERSION.fullmatch(token)
    return int(m.group(1)) if m else None
