"""Acknowledging a drift alert: the scheduled check stops updating an environment's drift card for a while.

Oncall and releasers may do it (like a rollback, it is an answer to an incident). The mute is stored
with who set it and until when, audited, and expires by itself; a rollback is never muted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ml.platform import ENVIRONMENTS, Environment

from .base import ReleaseCore
from .models import Action, Actor, Outcome, Result
from .queries import when

__all__ = ["ACK_MAX", "NS_DRIFT_ACK", "DriftAcks", "Mute"]

NS_DRIFT_ACK = "drift-ack"
#: the longest a drift alert may be muted: a week, after which it speaks again if the drift lasts
ACK_MAX = timedelta(days=7)


@dataclass(frozen=True)
class Mute:
    until: datetime
    actor_id: str
    actor_name: str


class DriftAcks:
    def __init__(self, core: ReleaseCore) -> None:
        self.core = core

    def acknowledge(self, actor: Actor, environment: Environment, duration: timedelta) -> Result:
        target = f"drift:{environment}"
        if (denied := self.core._guard(actor, Action.ACKNOWLEDGE, target)) is not None:
            return denied
        if environment not in ENVIRONMENTS:
            return self.core._refuse(
                actor, Action.ACKNOWLEDGE, target, f"{environment} is not an environment"
            )
        if not timedelta(0) < duration <= ACK_MAX:
            return self.core._refuse(
                actor, Action.ACKNOWLEDGE, target, "A drift alert is muted for a time up to 7 days (e.g. 4h)."
            )
        until = self.core.clock.now() + duration
        record = {"until": until.isoformat(), "actor_id": actor.id, "actor_name": actor.label}
        self.core.records.store.put(NS_DRIFT_ACK, environment, record)  # persisted before announced
        message = f"Drift alerts for {environment} muted until {when(until)}."
        result = Result(
            Action.ACKNOWLEDGE, Outcome.DONE, message, actor, None, environment, {"until": until.isoformat()}
        )
        return self.core._finish(result, target)

    def muted(self, environment: Environment) -> Mute | None:
        """The mute in force for ``environment``'s drift alerts; None when none is."""
        record = self.core.records.store.get(NS_DRIFT_ACK, environment)
        if record is None:
            return None
        try:
            until = datetime.fromisoformat(str(record["until"]))
        except (KeyError, ValueError):
            return None
        if until <= self.core.clock.now():
            return None
        return Mute(until, str(record.get("actor_id", "")), str(record.get("actor_name", "")))
