"""Change freezes: while an environment is frozen, deploy and promote to it are refused.

A freeze is typed (``freeze production 4h "quarter close"``, stored with who set it and until when,
ended early by ``unfreeze``) or a recurring window of ``MLOPS_FREEZE_WINDOWS``. Releasers and oncall
set and lift them. Rollback is never frozen: it is the way out of an incident.

Break-glass: oncall may switch a frozen environment anyway, with a reason; the switch's result and
audit entry carry the flag, and the channel is told with the releasers mentioned.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from ml.platform import ENVIRONMENTS, Environment

from .base import ReleaseCore
from .freeze_windows import FreezeWindow
from .models import Action, Actor, Outcome, Result, Role
from .queries import PromotePlan, when

__all__ = [
    "FREEZE_MAX",
    "NS_FREEZE",
    "BrokenFreeze",
    "Freeze",
    "Freezes",
    "freeze_gate",
    "in_force",
    "parse_duration",
]

NS_FREEZE = "freeze"
#: the longest a typed freeze may last; longer ones belong in MLOPS_FREEZE_WINDOWS
FREEZE_MAX = timedelta(days=30)
MAX_FREEZE_REASON = 500
#: a break-glass reason travels in a button's value (2000 characters, JSON-escaped: up to 12 a character)
MAX_BREAK_GLASS_REASON = 150
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """``30m``, ``4h`` or ``3d``, up to 30 days; ValueError saying what is accepted."""
    m = re.fullmatch(r"(\d{1,5})([mhd])", text.strip().lower())
    if m is None or int(m.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration; write it as 30m, 4h or 3d")
    duration = timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    if duration > FREEZE_MAX:
        raise ValueError(f"a freeze lasts at most 30d, not {text}; put longer ones in MLOPS_FREEZE_WINDOWS")
    return duration


@dataclass(frozen=True)
class Freeze:
    """A freeze in force: a typed one (``window`` empty) or a recurring window."""

    environment: Environment
    until: datetime
    reason: str = ""
    actor_id: str = ""
    actor_name: str = ""
    window: str = ""

    def describe(self) -> str:
        """``production is frozen until 2026-12-07 22:00 UTC by carol: "quarter close"``."""
        head = f"{self.environment} is frozen until {when(self.until.astimezone(UTC))}"
        if self.window:
            return f"{head} by the freeze window {self.window} (MLOPS_FREEZE_WINDOWS)"
        return f'{head} by {self.actor_name or self.actor_id}: "{self.reason}"'


@dataclass(frozen=True)
class BrokenFreeze:
    """A freeze a switch goes through anyway, and the oncall's reason."""

    freeze: Freeze
    reason: str

    def flag(self, result: Result) -> Result:
        """The switch's result, saying it broke the freeze, with the flag its audit entry keeps."""
        message = f"{result.message} Break-glass: {self.freeze.describe()}; reason: {self.reason}"
        data = {**result.data, "break_glass": self.reason, "freeze": self.freeze.describe()}
        return replace(result, message=message, data=data)


def refusal(freeze: Freeze, action: Action, version: int | None) -> str:
    what = f"{action.value} v{version}" if version is not None else action.value
    oncall = f'oncall may break glass: `promote v{version} break-glass "<reason>"`'
    hint = f" Rollback still works; {oncall}." if action is Action.PROMOTE else " Rollback still works."
    return f"Cannot {what}: {freeze.describe()}.{hint}"


def _typed(core: ReleaseCore, environment: Environment, now: datetime) -> Freeze | None:
    record = core.records.store.get(NS_FREEZE, environment)
    if record is None:
        return None
    try:
        until = datetime.fromisoformat(str(record["until"]))
    except (KeyError, ValueError):
        return None  # unreadable: treated as over rather than freezing forever
    if until <= now:
        return None
    reason, actor_id = str(record.get("reason", "")), str(record.get("actor_id", ""))
    return Freeze(environment, until, reason, actor_id, str(record.get("actor_name", "")))


def in_force(core: ReleaseCore, environment: Environment) -> Freeze | None:
    """The freeze holding ``environment`` now: the one that lasts longest, typed or window."""
    now = core.clock.now()
    found = [typed] if (typed := _typed(core, environment, now)) is not None else []
    for window in _windows(core):
        if window.environment == environment and (end := window.holds(now)) is not None:
            found.append(Freeze(environment, end, window=window.text))
    return max(found, key=lambda f: f.until) if found else None


def _windows(core: ReleaseCore) -> Sequence[FreezeWindow]:
    return tuple(getattr(core, "freeze_windows", ()))


def break_glass_problem(actor: Actor, freeze: Freeze, reason: str) -> str | None:
    """Why ``actor`` may not break ``freeze``; None when they may."""
    if not actor.system and Role.ONCALL not in actor.roles:
        return f"Only *oncall* can break glass: {freeze.describe()}."
    if not reason.strip():
        return f'Break-glass needs a reason (e.g. "hotfix INC-42"): {freeze.describe()}.'
    if len(reason) > MAX_BREAK_GLASS_REASON:
        return f"A break-glass reason is at most {MAX_BREAK_GLASS_REASON} characters, not {len(reason)}."
    return None


def nothing_to_break(
    core: ReleaseCore, actor: Actor, version: int, environment: Environment
) -> Result | None:
    """A break-glass promote where nothing is frozen: refused (audited), the plain promote named."""
    if in_force(core, environment) is not None:
        return None
    return core._refuse(
        actor,
        Action.PROMOTE,
        f"v{version}->{environment}",
        unfrozen(environment, version),
        version=version,
        environment=environment,
    )


def unfrozen(environment: Environment, version: int) -> str:
    return (
        f"Nothing is frozen in {environment}: break-glass is for a freeze. Promote v{version} as usual "
        f"(`/mlops promote v{version}`, releasers)."
    )


def freeze_gate(
    core: ReleaseCore,
    actor: Actor,
    action: Action,
    version: int,
    environment: Environment,
    break_glass: str = "",
) -> Result | BrokenFreeze | None:
    """The one check a deploy or promote makes: a refusal (audited), the freeze it breaks, or None."""
    freeze = in_force(core, environment)
    if freeze is None:
        return None
    target = f"v{version}->{environment}"
    if not break_glass:
        return core._refuse(
            actor,
            action,
            target,
            refusal(freeze, action, version),
            version=version,
            environment=environment,
            data={"frozen": freeze.describe()},
        )
    if (problem := break_glass_problem(actor, freeze, break_glass)) is not None:
        return core._refuse(actor, action, target, problem, version=version, environment=environment)
    return BrokenFreeze(freeze, break_glass.strip())


class Freezes:
    def __init__(self, core: ReleaseCore) -> None:
        self.core = core

    def freeze(self, actor: Actor, environment: Environment, duration: timedelta, reason: str) -> Result:
        core = self.core
        target = f"freeze:{environment}"
        if (denied := core._guard(actor, Action.FREEZE, target, environment=environment)) is not None:
            return denied
        problem = None
        if environment not in ENVIRONMENTS:
            problem = f"{environment} is not an environment; use staging or production."
        elif not timedelta(0) < duration <= FREEZE_MAX:
            problem = "A freeze lasts from a minute up to 30 days (e.g. 4h)."
        elif not reason.strip():
            problem = f'A freeze needs a reason: `freeze {environment} 4h "quarter close"`.'
        elif len(reason) > MAX_FREEZE_REASON:
            problem = f"The reason is {len(reason)} characters long; the limit is {MAX_FREEZE_REASON}."
        if problem is not None:
            return core._refuse(actor, Action.FREEZE, target, problem, environment=environment)
        now = core.clock.now()
        until = now + duration
        record = {
            "until": until.isoformat(),
            "since": now.isoformat(),
            "reason": reason.strip(),
            "actor_id": actor.id,
            "actor_name": actor.label,
        }
        core.records.store.put(NS_FREEZE, environment, record)  # persisted before announced
        freeze = Freeze(environment, until, reason.strip(), actor.id, actor.label)
        message = (
            f"Froze {environment} until {when(until)}: {reason.strip()}. Deploy and promote are refused."
        )
        data = {"until": until.isoformat(), "reason": reason.strip(), "freeze": freeze.describe()}
        result = Result(Action.FREEZE, Outcome.DONE, message, actor, None, environment, data)
        return core._finish(result, target)

    def unfreeze(self, actor: Actor, environment: Environment) -> Result:
        core = self.core
        target = f"freeze:{environment}"
        if (denied := core._guard(actor, Action.UNFREEZE, target, environment=environment)) is not None:
            return denied
        typed = _typed(core, environment, core.clock.now())
        core.records.store.delete(NS_FREEZE, environment)  # persisted before announced
        still = in_force(core, environment)
        if still is not None:  # a window: it ends by itself, or in settings
            lifted = "Lifted the typed freeze, but " if typed is not None else ""
            message = f"{lifted}{still.describe()}; freeze windows change only in settings."
            outcome = Outcome.DONE if typed is not None else Outcome.REFUSED
            return core._finish(Result(Action.UNFREEZE, outcome, message, actor, None, environment), target)
        if typed is None:
            return core._refuse(
                actor,
                Action.UNFREEZE,
                target,
                f"{environment} is not frozen.",
                environment=environment,
                outcome=Outcome.NOOP,
            )
        message = f"Unfroze {environment}: deploy and promote are allowed again."
        return core._finish(Result(Action.UNFREEZE, Outcome.DONE, message, actor, None, environment), target)

    def in_force(self, environment: Environment) -> Freeze | None:
        return in_force(self.core, environment)

    def vet_plan(self, plan: PromotePlan, actor: Actor | None, break_glass: str) -> PromotePlan | str:
        """A promote plan as production's freezes allow it: unchanged, a break-glass one, or why not."""
        freeze = in_force(self.core, "production")
        if freeze is None:
            return unfrozen("production", plan.version) if break_glass else plan
        if not break_glass:
            return refusal(freeze, Action.PROMOTE, plan.version)
        if actor is not None and (problem := break_glass_problem(actor, freeze, break_glass)) is not None:
            return problem
        return replace(plan, freeze=freeze.describe(), break_glass=break_glass.strip())
