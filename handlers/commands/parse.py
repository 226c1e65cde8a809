"""``/mlops`` text -> a typed command, or a ``UsageError`` that says how to fix it.

Pure: no Slack, no I/O. The pipeline's parameter specs are passed in as data so
``train`` arguments are checked before anything is started.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import timedelta

from bot.core.models import AUDITED_ACTIONS, Action, AuditFilter
from ml.drift.environment import parse_since
from ml.parameters import PARAMETERS
from ml.platform import ENVIRONMENTS, Environment, ParameterSpec
from ml.rollout_policy import RolloutPolicy, parse_rollout

from .freeze_words import parse_freeze, parse_promote, parse_unfreeze
from .grammar import (
    AUDIT_DEFAULT,
    AUDIT_MAX,
    EXECUTION_ID,
    MAX_REASON,
    MAX_TEXT,
    MENTION,
    PARAM_NAME,
    ROLLOUT_VERBS,
    ROLLOUT_WORD,
    SUBCOMMANDS,
    USAGE,
    VERSION,
    Acknowledge,
    Approve,
    Audit,
    Card,
    Command,
    Deploy,
    Drift,
    Freeze,
    Help,
    History,
    Promote,
    Reject,
    RequestApproval,
    Rollback,
    RolloutControl,
    Status,
    Stop,
    Train,
    Unfreeze,
    Validate,
    subcommand_action,
)
from .usage import UsageError, closest, show

#: Parameters the deployment sets, never a caller: why, to say so when one is given.
POLICY_REASONS = {name: spec.policy for name, spec in PARAMETERS.items() if spec.policy}

__all__ = [
    "AUDIT_DEFAULT",
    "AUDIT_MAX",
    "MAX_REASON",
    "MAX_TEXT",
    "SUBCOMMANDS",
    "USAGE",
    "Acknowledge",
    "Approve",
    "Audit",
    "Card",
    "Command",
    "Deploy",
    "Drift",
    "Freeze",
    "Help",
    "History",
    "Promote",
    "Reject",
    "RequestApproval",
    "Rollback",
    "RolloutControl",
    "Status",
    "Stop",
    "Train",
    "Unfreeze",
    "UsageError",
    "Validate",
    "parse_command",
    "parse_version",
    "subcommand_action",
]


def parse_version(token: str, sub: str) -> int:
    m = VERSION.fullmatch(token)
    if m is None or int(m.group(1)) < 1:
        hint = re.sub(r"[^0-9]", "", token)[:9]
        suggestion = f"/mlops {sub} v{int(hint)}" if hint and int(hint) > 0 else None
        raise UsageError(
            f"`{show(token)}` is not a model version; write it as `v3`, `V3` or `3`.",
            USAGE[sub],
            suggestion,
        )
    return int(m.group(1))


def _environment(token: str, sub: str, before: str = "", after: str = "") -> Environment:
    low = token.lower()
    for env in ENVIRONMENTS:
        if low == env:
            return env
    close = closest(low, ENVIRONMENTS)
    suggestion = None
    if close is not None:
        suggestion = " ".join(p for p in ("/mlops", sub, before, close, show(after, 20)) if p)
    raise UsageError(
        f"`{show(token)}` is not an environment; use `staging` or `production`.", USAGE[sub], suggestion
    )


def _environment_and_duration(
    sub: str, args: list[str], example: str
) -> tuple[Environment, timedelta | None]:
    """``ENV [duration]`` (``30m``, ``4h``, ``7d``); None when no duration was typed."""
    _arity(sub, args, 1, 2)
    env = _environment(args[0], sub, after=args[1] if len(args) == 2 else "")
    if len(args) == 1:
        return env, None
    try:
        return env, parse_since(args[1])
    except ValueError as exc:
        raise UsageError(f"`{sub}`: {exc}.", USAGE[sub], f"/mlops {sub} {env} {example}") from None


def _arity(sub: str, args: list[str], low: int, high: int) -> None:
    if len(args) < low:
        raise UsageError(f"`{sub}` needs more arguments.", USAGE[sub])
    if len(args) > high:
        extra = " ".join(show(a, 20) for a in args[high:])
        raise UsageError(f"`{sub}` does not take `{extra}`.", USAGE[sub])


def _train_parameters(args: list[str], specs: Mapping[str, ParameterSpec] | None) -> dict[str, str]:
    params: dict[str, str] = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep or not key or not value:
            raise UsageError(
                f"`{show(arg)}` is not a `key=value` pair.",
                USAGE["train"],
                f"/mlops train {show(key or arg)}=<value>" if specs is None or key in specs else None,
            )
        if PARAM_NAME.fullmatch(key) is None:
            raise UsageError(f"`{show(key)}` is not a valid parameter name.", USAGE["train"])
        if key in params:
            raise UsageError(f"`{key}` is given twice.", USAGE["train"])
        if specs is not None:
            spec = specs.get(key)
            if spec is None and (policy := POLICY_REASONS.get(key)):
                raise UsageError(f"{policy}.", USAGE["train"])
            if spec is None:
                close = closest(key, sorted(specs))
                valid = ", ".join(f"`{n}`" for n in sorted(specs))
                raise UsageError(
                    f"Unknown training parameter `{show(key)}`. Valid parameters: {valid}.",
                    USAGE["train"],
                    f"/mlops train {close}={show(value)}" if close else None,
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
                f"`{spec.name}` must be a whole number, not `{show(value)}` (default {spec.default})."
            ) from None
    elif spec.type == "float":
        try:
            number = float(value)
        except ValueError:
            raise UsageError(
                f"`{spec.name}` must be a number, not `{show(value)}` (default {spec.default})."
            ) from None
        if not math.isfinite(number):
            raise UsageError(f"`{spec.name}` must be a finite number.")
    if number is not None:
        if spec.minimum is not None and number < spec.minimum:
            raise UsageError(f"`{spec.name}` must be at least {spec.minimum:g}, not {show(value)}.")
        if spec.maximum is not None and number > spec.maximum:
            raise UsageError(f"`{spec.name}` must be at most {spec.maximum:g}, not {show(value)}.")
    if spec.choices and value not in spec.choices:
        close = closest(value, spec.choices)
        raise UsageError(
            f"`{spec.name}` must be one of {', '.join(spec.choices)}, not `{show(value)}`.",
            None,
            f"/mlops train {spec.name}={close}" if close else None,
        )


#: what narrows ``/mlops audit``, by the key that can name it (``version:3``, ``by:bob``, ``action:approve``)
AUDIT_KEYS = ("version", "by", "action")
AUDIT_ACTION_NAMES = tuple(a.value for a in AUDITED_ACTIONS)


def _audit(args: list[str]) -> Audit:
    """``/mlops audit [N] [vN] [@person] [action]``, in any order, each at most once."""
    count: int | None = None
    version: int | None = None
    person: str | None = None
    action: Action | None = None
    for token in args:
        key, sep, value = token.partition(":")
        key = key.lower() if sep and key.lower() in AUDIT_KEYS else ""
        if not key and token.isascii() and token.isdigit():
            _once("count", count, token)
            if len(token) > 3 or not 1 <= int(token) <= AUDIT_MAX:
                raise UsageError(f"`{show(token)}` is not a number from 1 to {AUDIT_MAX}.", USAGE["audit"])
            count = int(token)
        elif key == "version" or (not key and token[:1] in "vV" and any(c.isdigit() for c in token)):
            _once("version", version, token)
            version = parse_version(value if key else token, "audit")
        elif key == "by" or (not key and token.startswith(("@", "<@"))):
            _once("person", person, token)
            person = _person(value if key else token)
        else:
            _once("action", action, token)
            action = _audited_action(value if key else token)
    return Audit(AUDIT_DEFAULT if count is None else count, AuditFilter(version, person, action))


def _once(what: str, earlier: object, token: str) -> None:
    if earlier is not None:
        raise UsageError(f"`{show(token)}`: give one {what} at most.", USAGE["audit"])


def _person(token: str) -> str:
    """A Slack user id from a mention (``<@U123|bob>``), else the name after ``@``."""
    if m := MENTION.fullmatch(token):
        return m.group(1)
    name = token.removeprefix("@")
    if not name or len(name) > 80 or not name.isprintable() or any(c in name for c in "<>&@"):
        raise UsageError(f"`{show(token)}` is not a person; write `@name` or mention them.", USAGE["audit"])
    return name


def _audited_action(word: str) -> Action:
    low = word.lower()
    if low in AUDIT_ACTION_NAMES:
        return Action(low)
    close = closest(low, AUDIT_ACTION_NAMES)
    raise UsageError(
        f"`{show(word)}` is not an action the audit log records. "
        f"Valid actions: {', '.join(AUDIT_ACTION_NAMES)}.",
        USAGE["audit"],
        f"/mlops audit {close}" if close else None,
    )


def _rollout_control(sub: str, args: list[str]) -> RolloutControl:
    """``rollout stop|finish ENV`` (``sub`` is ``rollout``), or ``stop-rollout|finish-rollout ENV``."""
    if sub == ROLLOUT_WORD:
        verbs = " or ".join(f"`{v}`" for v in ROLLOUT_VERBS)
        if not args or args[0].lower() not in ROLLOUT_VERBS:
            typed = f"`{show(args[0])}` is not" if args else "Say"
            close = closest(args[0], list(ROLLOUT_VERBS)) if args else None
            raise UsageError(
                f"{typed} what to do with the rollout: {verbs}.",
                "/mlops rollout stop|finish staging|production",
                f"/mlops rollout {close} production" if close else None,
            )
        action = ROLLOUT_VERBS[args[0].lower()]
        args = args[1:]
    else:
        action = SUBCOMMANDS[sub]
    name = action.value
    _arity(name, args, 1, 1)
    return RolloutControl(_environment(args[0], name), action)


def parse_command(
    text: str,
    parameters: Mapping[str, ParameterSpec] | None = None,
    read_rollout: Callable[[str], RolloutPolicy] = parse_rollout,
) -> Command:
    """Parse the text after ``/mlops``. ``parameters`` enables checking ``train`` arguments;
    ``read_rollout`` reads a promote's rollout with the configured bake and timeout."""
    if len(text) > MAX_TEXT:
        raise UsageError(f"That command is {len(text)} characters long; the limit is {MAX_TEXT}.")
    words = text.split()
    if not words:
        return Help()
    sub, args = words[0].lower(), words[1:]
    if sub == ROLLOUT_WORD or sub in ("stop-rollout", "finish-rollout"):
        return _rollout_control(sub, args)
    if sub not in SUBCOMMANDS:
        close = closest(sub, list(SUBCOMMANDS))
        suggestion = None
        if close is not None:
            suggestion = " ".join(["/mlops", close, *(show(a, 20) for a in args[:3])])
        raise UsageError(f"`{show(sub)}` is not an `/mlops` command. Try `/mlops help`.", None, suggestion)
    if sub == "help":
        return Help()
    if sub == "train":
        return Train(_train_parameters(args, parameters))
    if sub == "stop":
        _arity(sub, args, 1, 1)
        if EXECUTION_ID.fullmatch(args[0]) is None:
            raise UsageError(f"`{show(args[0])}` is not an execution id.", USAGE[sub])
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
    if sub == "request-approval":
        _arity(sub, args, 1, 1)
        return RequestApproval(parse_version(args[0], sub))
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
        _arity(sub, args, 1, 10_000)
        return parse_promote(parse_version(args[0], sub), args[1:], read_rollout)
    if sub == "freeze":
        return parse_freeze(args, _environment)
    if sub == "unfreeze":
        return parse_unfreeze(args, _environment)
    if sub == "rollback":
        _arity(sub, args, 1, 2)
        env = _environment(args[0], sub, after=args[1] if len(args) == 2 else "")
        return Rollback(env, parse_version(args[1], sub) if len(args) == 2 else None)
    if sub == "history":
        _arity(sub, args, 1, 1)
        return History(_environment(args[0], sub))
    if sub == "acknowledge":
        env, duration = _environment_and_duration(sub, args, "4h")
        return Acknowledge(env) if duration is None else Acknowledge(env, duration)
    if sub == "card":
        _arity(sub, args, 1, 1)
        return Card(parse_version(args[0], sub))
    if sub == "drift":
        env, window = _environment_and_duration(sub, args, "24h")
        return Drift(env) if window is None else Drift(env, window)
    return _audit(args)
