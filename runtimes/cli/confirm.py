"""The confirmation a change to production asks for on the command line, as in the chat.

On a terminal the command asks; in a script ``--yes`` says yes. Without either nothing changes:
a piped ``promote`` never switches production by surprise.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from bot.core.service import PromotePlan, RollbackPlan

__all__ = ["ask_first", "confirm", "question"]


def question(plan: PromotePlan | RollbackPlan) -> str:
    """What a change to production does, named as the chat's confirmation names it."""
    if isinstance(plan, PromotePlan):
        was = f"v{plan.from_version}" if plan.from_version is not None else "no model"
        glass = f"Break-glass: {plan.freeze}. Reason: {plan.break_glass}. " if plan.break_glass else ""
        return (
            f"{glass}Promote v{plan.version} to production: endpoint {plan.endpoint} "
            f"goes from {was} to v{plan.version}.{_rollout(plan)}"
        )
    return (
        f"Roll back {plan.environment}: endpoint {plan.endpoint} goes from v{plan.from_version} "
        f"to v{plan.to_version}.{_path(plan)}"
    )


def _rollout(plan: PromotePlan) -> str:
    if plan.rollout is None:
        return ""
    chosen = " (chosen for this promote)" if plan.rollout_override else ""
    guarded = f"; guarded by {', '.join(plan.alarms)}" if plan.alarms else ""
    return f" Rollout{chosen}: {plan.rollout.describe()}{guarded}."


def _path(plan: RollbackPlan) -> str:
    path = plan.path
    if path is None:
        return f" It redeploys v{plan.to_version}."
    how = (
        f"shifts traffic back to the warm v{path.version} at once"
        if path.warm
        else f"redeploys v{path.version}"
    )
    return f" It {how}" + (f" ({path.detail})." if path.detail else ".")


def ask_first(plan: PromotePlan | RollbackPlan | str, yes: bool) -> int:
    """``confirm`` for a plan; 0 for a change that cannot happen (the core then refuses it, audited)."""
    return 0 if isinstance(plan, str) else confirm(question(plan), yes)


def confirm(
    question: str,
    yes: bool,
    *,
    stdin: TextIO | None = None,
    ask: Callable[[str], str] | None = None,
    err: TextIO | None = None,
) -> int:
    """0 to go ahead; otherwise the exit code of a change that was not confirmed (1, nothing changed)."""
    stdin, err, ask = stdin or sys.stdin, err or sys.stderr, ask or input
    if yes:
        return 0
    if not stdin.isatty():
        print(
            f"mlops-bot: refused: {question} Add --yes to confirm without a terminal; nothing changed.",
            file=err,
        )
        return 1
    try:
        answer = ask(f"{question} Continue? [y/N] ")
    except EOFError:
        answer = ""
    if answer.strip().lower() in ("y", "yes"):
        return 0
    print("mlops-bot: not confirmed; nothing changed.", file=err)
    return 1
