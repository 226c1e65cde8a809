"""How many training runs the local platform takes on at once, in all and per person.

Runs share one machine: a bound on the queue keeps a burst of ``train`` requests from piling up
hours of work, and a per-person limit keeps one person from taking every slot. A refused request
starts nothing and says which limit it met and which of the person's runs are in progress.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ml.platform import InvalidRequest


class RunLimitReached(InvalidRequest):
    """A training request over the queue bound or the requester's limit; nothing was started."""


@dataclass(frozen=True)
class RunLimits:
    #: runs queued or running at once, everyone's together (``MLOPS_MAX_QUEUED_RUNS``)
    max_queued: int = 8
    #: runs queued or running at once for one requester (``MLOPS_MAX_RUNS_PER_USER``)
    per_user: int = 2

    def __post_init__(self) -> None:
        for name, value in (("max_queued", self.max_queued), ("per_user", self.per_user)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number of runs >= 1, got {value!r}")

    def admit(self, requested_by: str) -> Callable[[list[tuple[str, str]]], None]:
        """A check of the unfinished ``(execution_id, requested_by)`` runs; raises to refuse."""

        def check(unfinished: list[tuple[str, str]]) -> None:
            own = [eid.rsplit("/", 1)[-1] for eid, who in unfinished if who == requested_by]
            yours = f"your runs in progress: {', '.join(own)}" if own else "you have no run in progress"
            if len(own) >= self.per_user:
                raise RunLimitReached(
                    f"training refused: at most {self.per_user} run{'s' if self.per_user != 1 else ''} "
                    f"per person may be queued or running (MLOPS_MAX_RUNS_PER_USER); {yours}. "
                    "Wait for one to finish or stop one."
                )
            if len(unfinished) >= self.max_queued:
                raise RunLimitReached(
                    f"training refused: {len(unfinished)} runs are queued or running, the most the "
                    f"local platform takes at once (MLOPS_MAX_QUEUED_RUNS={self.max_queued}); {yours}. "
                    "Try again when a run has finished."
                )

        return check
