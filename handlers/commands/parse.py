"""``/mlops`` text -> a typed command, or a ``UsageError`` that says how to fix it.

Pure: no Slack, no I/O. The pipeline's parameter specs are passed in as data so
``train`` arguments are checked before anything is started.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.core.models import Action
from ml.parameters import PARAMETERS
from ml.platform import ENVIRONMENTS, Environment, ParameterSpec

#: Parameters the deployment sets, never a caller: why, to say so when one is given.
POLICY_REASONS = {name: spec.policy for name, spec in PARAMETERS.items() if spec.policy}

__all__ = [
    "MAX_TEXT",
    "SUBCOMMANDS",
    "USAGE",
    "Approve",
    "Audit",
    "Command",
    "Deploy",
    "Help",
    "History",
    "Promote",
    "Reject",
    "Rollback",
    "Status",
    "Stop",
    "Train",
    "UsageError",
    "Validate",
    "parse_command",
    "parse_version",
    "subcommand_action",
]

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
    "promote": "/mlops promote vN",
    "rollback": "/mlops rollback staging|production [vN]",
    "history": "/mlops history staging|production",
    "audit": f"/mlops audit [N]   (N from 1 to {AUDIT_MAX})",
}

SUBCOMMANDS: dict[str, Action] = {name: Action(name) for name in USAGE}

_VERSION = re.compile(r"[vV]?([0-9]{1,9})")
_EXECUTION_ID = re.compile(r"[A-Za-z0-9:/._-]{1,256}")
_PARAM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")


class UsageError(ValueError):
    """A command that cannot run as typed. ``str()`` is the whole message for the user."""

    def __init__(self, problem: str, usage: str | None = None, suggestion: str | None = None) -> None:
        self.problem = problem
        self.usage = usage
        self.suggestion = suggestion
        parts = [problem]
        if suggestion:
            parts.append(f"Did you mean `{suggestion}`?")
        if usage:
            parts.append(f"Usage: `{usage}`")
        super().__init__("\n".join(parts))


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
class History:
    environment: Environment
    action: Action = Action.HISTORY

    @property
    def target(self) -> str:
        return self.environment


@dataclass(frozen=True)
class Audit:
    limit: int = AUDIT_DEFAULT
    action: Action = Action.AUDIT
    target: str = "audit"


Command = (
    Help | Train | Stop | Status | Approve | Reject | Deploy | Validate | Promote | Rollback | History | Audit
)


def _closest(word: str, options: list[str] | tuple[str, ...]) -> str | None:
    matches = difflib.get_close_matches(word.lower(), list(options), n=1, cutoff=0.5)
    return matches[0] if matches else None


def _show(word: str, limit: int = 40) -> str:
    """A user's token, quoted safely inside a message (never breaks out of the code span)."""
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in word).replace("`", "'")
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def subcommand_action(text: str) -> Action | None:
    """The action the first word asks for (exact, case-insensitive), before validating arguments.

    Permission is checked on this alone so that someone without the role is told so
    rather than being coached on arguments they cannot use.
    """
    words = text.split(maxsplit=1)
    if not words:
        return Action.HELP
    return SUBCOMMANDS.get(words[0].lower())


def parse_version(token: str, sub: str) -> int:
    m = _VERSION.fullmatch(token)
    if m is None or int(m.group(1)) < 1:
        hint = re.sub(r"[^0-9]", "", token)[:9]
        suggestion = f"/mlops {sub} v{int(hint)}" if hint and int(hint) > 0 else None
        raise UsageError(
            f"`{_show(token)}` is not a model version; write it as `v3`, `V3` or `3`.",
            USAGE[sub],
            suggestion,
        )
    return int(m.group(1))


def _environment(token: str, sub: str, before: str = "", after: str = "") -> Environment:
    low = token.lower()
    for env in ENVIRONMENTS:
        if low == env:
            return env
    close = _closest(low, ENVIRONMENTS)
    suggestion = None
    if close is not None:
        suggestion = " ".join(p for p in ("/mlops", sub, before, close, _show(after, 20)) if p)
    raise UsageError(
        f"`{_show(token)}` is not an environment; use `staging` or `production`.", USAGE[sub], suggestion
    )


def _arity(sub: str, args: list[str], low: int, high: int) -> None:
    if len(args) < low:
        raise UsageError(f"`{sub}` needs more arguments.", USAGE[sub])
    if len(args) > high:
        extra = " ".join(_show(a, 20) for a in args[high:])
        raise UsageError(f"`{sub}` does not take `{extra}`.", USAGE[sub])


def _train_parameters(args: list[str], specs: Mapping[str, ParameterSpec] | None) -> dict[str, str]:
    params: dict[str, str] = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep or not key or not value:
            raise UsageError(
                f"`{_show(arg)}` is not a `key=value` pair.",
                USAGE["train"],
                f"/mlops train {_show(key or arg)}=<value>" if specs is None or key in specs else None,
            )
        if _PARAM_NAME.fullmatch(key) is None:
            raise UsageError(f"`{_show(key)}` is not a valid parameter name.", USAGE["train"])
        if key in params:
            raise UsageError(f"`{key}` is given twice.", USAGE["train"])
        if specs is not None:
            spec = specs.get(key)
            if spec is None and (policy := POLICY_REASONS.get(key)):
                raise UsageError(f"{policy}.", USAGE["train"])
            if spec is None:
                close = _closest(key, sorted(specs))
                valid = ", ".join(f"`{n}`" for n in sorted(specs))
                raise UsageError(
                    f"Unknown training parameter `{_show(key)}`. Valid parameters: {valid}.",
                    USAGE["train"],
                    f"/mlops train {close}={_show(value)}" if close else None,
                )
            _check_value(spec, value)
        params[key] = value
    return params


def _check_value(spec: ParameterSpec, value: str) -> None:
    number: float | None = None
    if spec.type == "integer":
        try:
            number = int(value)
        except ValueError:
            raise UsageError(
                f"`{spec.name}` must be a whole number, not `{_show(value)}` (default {spec.default})."
            ) from None
    elif spec.type == "float":
        try:
            number = float(value)
        except ValueError:
            raise UsageError(
                f"`{spec.name}` must be a number, not `{_show(value)}` (default {spec.default})."
            ) from None
        if not math.isfinite(number):
            raise UsageError(f"`{spec.name}` must be a finite number.")
    if number is not None:
        if spec.minimum is not None and number < spec.minimum:
            raise UsageError(f"`{spec.name}` must be at least {spec.minimum:g}, not {_show(value)}.")
        if spec.maximum is not None and number > spec.maximum:
            raise UsageError(f"`{spec.name}` must be at most {spec.maximum:g}, not {_show(value)}.")
    if spec.choices and value not in spec.choices:
        close = _closest(value, spec.choices)
        raise UsageError(
            f"`{spec.name}` must be one of {', '.join(spec.choices)}, not `{_show(value)}`.",
            None,
            f"/mlops train {spec.name}={close}" if close else None,
        )


def parse_command(text: str, parameters: Mapping[str, ParameterSpec] | None = None) -> Command:
    """Parse the text after ``/mlops``. ``parameters`` enables checking ``train`` arguments."""
    if len(text) > MAX_TEXT:
        raise UsageError(f"That command is {len(text)} characters long; the limit is {MAX_TEXT}.")
    words = text.split()
    if not words:
        return Help()
    sub, args = words[0].lower(), words[1:]
    if sub not in SUBCOMMANDS:
        close = _closest(sub, list(SUBCOMMANDS))
        suggestion = None
        if close is not None:
            suggestion = " ".join(["/mlops", close, *(_show(a, 20) for a in args[:3])])
        raise UsageError(f"`{_show(sub)}` is not an `/mlops` command. Try `/mlops help`.", None, suggestion)
    if sub == "help":
        return Help()
    if sub == "train":
        return Train(_train_parameters(args, parameters))
    if sub == "stop":
        _arity(sub, args, 1, 1)
        if _EXECUTION_ID.fullmatch(args[0]) is None:
            raise UsageError(f"`{_show(args[0])}` is not an execution id.", USAGE[sub])
        return Stop(args[0])
    if sub == "status":
        _arity(sub, args, 0, 1)
        if not args:
            return Status()
        if args[0].lower() in ENVIRONMENTS or not any(ch.isdigit() for ch in args[0]):
            return Status(environment=_environment(args[0], sub))
        return Status(version=parse_version(args[0], sub))
    if sub in ("approve", "reject"):
        _arity(sub, args, 1, 10_000)
        version = parse_version(args[0], sub)
        reason = " ".join(args[1:])
        if len(reason) > MAX_REASON:
            raise UsageError(f"The reason is {len(reason)} characters long; the limit is {MAX_REASON}.")
        if sub == "approve":
            return Approve(version, reason)
        if not reason:
            raise UsageError(
                "A rejection needs a reason.", USAGE[sub], f"/mlops reject v{version} <why it is rejected>"
            )
        return Reject(version, reason)
    if sub == "deploy":
        _arity(sub, args, 2, 2)
        version = parse_version(args[0], sub)
        env = _environment(args[1], sub, before=f"v{version}")
        if env == "production":
            raise UsageError(
                "Production is reached with `promote`, after a passed staging validation.",
                USAGE["promote"],
                f"/mlops promote v{version}",
            )
        return Deploy(version, env)
    if sub == "validate":
        _arity(sub, args, 0, 1)
        return Validate(parse_version(args[0], sub) if args else None)
    if sub == "promote":
        _arity(sub, args, 1, 2)
        version = parse_version(args[0], sub)
        if len(args) == 2 and args[1].lower() != "production":
            raise UsageError("`promote` always targets production.", USAGE[sub], f"/mlops promote v{version}")
        return Promote(version)
    if sub == "rollback":
        _arity(sub, args, 1, 2)
        env = _environment(args[0], sub, after=args[1] if len(args) == 2 else "")
        return Rollback(env, parse_version(args[1], sub) if len(args) == 2 else None)
    if sub == "history":
        _arity(sub, args, 1, 1)
        return History(_environment(args[0], sub))
    # audit
    _arity(sub, args, 0, 1)
    if not args:
        return Audit()
    if (
        len(args[0]) > 3
        or not (args[0].isascii() and args[0].isdigit())
        or not 1 <= int(args[0]) <= AUDIT_MAX
    ):
        raise UsageError(f"`{_show(args[0])}` is not a number from 1 to {AUDIT_MAX}.", USAGE[sub])
    return Audit(int(args[0]))
