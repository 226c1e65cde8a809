"""The words of change freezes and promotes: ``freeze``, ``unfreeze`` and
``promote vN [<rollout>] [break-glass "<reason>"]``."""

from __future__ import annotations

from collections.abc import Callable

from bot.core.freezes import MAX_BREAK_GLASS_REASON, parse_duration
from ml.platform import ENVIRONMENTS, Environment
from ml.rollout_policy import USAGE as ROLLOUT_USAGE
from ml.rollout_policy import RolloutPolicy, parse_rollout

from .grammar import MAX_REASON, USAGE, Freeze, Promote, Unfreeze
from .usage import UsageError, show

__all__ = ["parse_freeze", "parse_promote", "parse_unfreeze", "quoted"]

#: quotes people type around a reason, Slack's curly ones included
QUOTES = "\"'“”‘’"
EXAMPLE_REASON = '"hotfix INC-42"'


def quoted(words: list[str]) -> str:
    """The reason as typed, without the quotes around it."""
    return " ".join(words).strip().strip(QUOTES).strip()


def _reason(words: list[str], sub: str, suggestion: str) -> str:
    reason = quoted(words)
    if not reason:
        raise UsageError(f"`{sub}` needs a reason.", USAGE[sub], suggestion)
    if len(reason) > MAX_REASON:
        raise UsageError(f"The reason is {len(reason)} characters long; the limit is {MAX_REASON}.")
    return reason


def parse_freeze(args: list[str], environment: Callable[[str, str], Environment]) -> Freeze:
    """``freeze ENV DURATION "<reason>"``: every part required."""
    if not args:
        raise UsageError("`freeze` needs more arguments.", USAGE["freeze"])
    env = environment(args[0], "freeze")
    if len(args) < 2:
        example = f'/mlops freeze {env} 4h "<reason>"'
        raise UsageError("`freeze` needs a duration and a reason.", USAGE["freeze"], example)
    try:
        duration = parse_duration(args[1])
    except ValueError as exc:
        raise UsageError(f"`freeze`: {exc}.", USAGE["freeze"], f'/mlops freeze {env} 4h "<reason>"') from None
    reason = _reason(args[2:], "freeze", f'/mlops freeze {env} {show(args[1], 10)} "quarter close"')
    return Freeze(env, duration, reason)


def parse_unfreeze(args: list[str], environment: Callable[[str, str], Environment]) -> Unfreeze:
    if len(args) != 1:
        problem = "needs an environment" if not args else f"does not take `{show(' '.join(args[1:]), 40)}`"
        raise UsageError(f"`unfreeze` {problem}.", USAGE["unfreeze"])
    return Unfreeze(environment(args[0], "unfreeze"))


#: how a promote asks to go through a freeze
BREAK_GLASS_WORDS = ("break-glass", "--break-glass")
ROLLOUT_EXAMPLE = "canary 10% 5m"


def parse_promote(
    version: int, rest: list[str], read_rollout: Callable[[str], RolloutPolicy] = parse_rollout
) -> Promote:
    """What follows ``promote vN``: nothing, ``production``, a rollout (``canary 5% 10m [bake 5m]``),
    ``break-glass "<reason>"``, or a rollout then a break-glass reason. ``read_rollout`` reads the
    rollout with the configured bake and timeout (raising ValueError saying what is wrong)."""
    if rest and rest[0].lower() == "production":
        rest = rest[1:]
    glass_at = next((i for i, w in enumerate(rest) if w.lower() in BREAK_GLASS_WORDS), len(rest))
    rollout = _rollout(version, rest[:glass_at], read_rollout) if glass_at else None
    rest = rest[glass_at:]
    if not rest:
        return Promote(version, rollout=rollout)
    suggestion = f"/mlops promote v{version} break-glass {EXAMPLE_REASON}"
    reason = quoted(rest[1:])
    if not reason:
        raise UsageError("Break-glass needs a reason.", USAGE["promote"], suggestion)
    if len(reason) > MAX_BREAK_GLASS_REASON:
        limit = MAX_BREAK_GLASS_REASON
        raise UsageError(f"The reason is {len(reason)} characters long; the limit is {limit}.")
    return Promote(version, reason, rollout)


def _rollout(version: int, words: list[str], read: Callable[[str], RolloutPolicy]) -> RolloutPolicy:
    if words[0].lower() in ENVIRONMENTS:
        plain = f"/mlops promote v{version}"
        raise UsageError("`promote` always targets production.", USAGE["promote"], plain)
    try:
        return read(" ".join(words))
    except ValueError as exc:
        example = f"/mlops promote v{version} {ROLLOUT_EXAMPLE}"
        said = str(exc) if ROLLOUT_USAGE in str(exc) else f"{exc}; {ROLLOUT_USAGE}"
        raise UsageError(f"`promote`: {show(said, 600)}.", USAGE["promote"], example) from None
