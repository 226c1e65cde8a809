"""Registry lifecycle stages (SageMaker's ``ModelLifeCycle``) and the one mapping from release steps.

SageMaker leaves stage names to each team; the Model Registry's templates use ``Development``,
``Staging``/``QA``, ``Production`` and ``Archived`` with statuses such as ``PendingApproval``,
``InProgress``, ``Approved``, ``Rejected`` and ``Retired``. mlops-bot writes these:

======================  ===============  ===============  =============================================
release step            Stage            StageStatus      note
======================  ===============  ===============  =============================================
registered              Development      PendingApproval  (Approved when registered approved)
approved                Development      Approved
deployed to staging     Staging          InProgress       validation runs against it
promoted / rolled back  Production       Approved         the version production serves
  to in production
replaced in production  Archived         Retired          a later promote or a rollback away from it;
                                                          it does not go back to staging, whose
                                                          endpoint serves something else by then
rejected                Archived         Rejected         StageDescription says who and why
======================  ===============  ===============  =============================================

Every value fits botocore's ``ModelLifeCycle`` shape: stage and status match
``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}``; the description is one line of at most ``DESCRIPTION_LIMIT``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass

#: SageMaker allows 1024 characters; a shorter bound keeps cards and events readable.
DESCRIPTION_LIMIT = 300

_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


class Stage(enum.StrEnum):
    DEVELOPMENT = "Development"
    STAGING = "Staging"
    PRODUCTION = "Production"
    ARCHIVED = "Archived"


class StageStatus(enum.StrEnum):
    PENDING_APPROVAL = "PendingApproval"
    IN_PROGRESS = "InProgress"
    APPROVED = "Approved"
    REJECTED = "Rejected"
    RETIRED = "Retired"


class Transition(enum.StrEnum):
    """What the bot did to a version, as far as its registry stage is concerned."""

    REGISTERED = "registered"
    APPROVED = "approved"
    STAGING = "staging"
    PRODUCTION = "production"
    REPLACED = "replaced"
    REJECTED = "rejected"


_TARGET: dict[Transition, tuple[Stage, StageStatus]] = {
    Transition.REGISTERED: (Stage.DEVELOPMENT, StageStatus.PENDING_APPROVAL),
    Transition.APPROVED: (Stage.DEVELOPMENT, StageStatus.APPROVED),
    Transition.STAGING: (Stage.STAGING, StageStatus.IN_PROGRESS),
    Transition.PRODUCTION: (Stage.PRODUCTION, StageStatus.APPROVED),
    Transition.REPLACED: (Stage.ARCHIVED, StageStatus.RETIRED),
    Transition.REJECTED: (Stage.ARCHIVED, StageStatus.REJECTED),
}


@dataclass(frozen=True)
class LifeCycle:
    """One ``ModelLifeCycle``: stage names are free text on SageMaker, so any valid name is kept."""

    stage: str
    status: str
    description: str = ""

    def __post_init__(self) -> None:
        for label, value in (("stage", self.stage), ("stage status", self.status)):
            if not _NAME.fullmatch(value):
                raise ValueError(
                    f"{label} {value[:70]!r} is not a registry name (letters, digits and single "
                    "hyphens, at most 63 characters)"
                )
        if len(self.description) > 1024:
            raise ValueError("a stage description holds at most 1024 characters")

    def request(self) -> dict[str, str]:
        """The ``ModelLifeCycle`` argument of UpdateModelPackage."""
        shape = {"Stage": self.stage, "StageStatus": self.status}
        if self.description:
            shape["StageDescription"] = self.description
        return shape

    def same_stage(self, other: LifeCycle | None) -> bool:
        return other is not None and (other.stage, other.status) == (self.stage, self.status)


def describe(text: str) -> str:
    """One line of at most ``DESCRIPTION_LIMIT`` characters (outside text may hold anything)."""
    line = " ".join(_CONTROL.sub(" ", text).split())
    return line if len(line) <= DESCRIPTION_LIMIT else line[: DESCRIPTION_LIMIT - 1] + "…"


def life_cycle_for(transition: Transition, description: str = "") -> LifeCycle:
    stage, status = _TARGET[transition]
    return LifeCycle(stage.value, status.value, describe(description))


def registered(approval_status: str, description: str = "Registered by the training pipeline") -> LifeCycle:
    """A new version's stage: Development, pending approval unless it was registered approved."""
    life = life_cycle_for(Transition.REGISTERED, description)
    if approval_status == "Approved":
        return LifeCycle(life.stage, StageStatus.APPROVED.value, life.description)
    if approval_status == "Rejected":
        return life_cycle_for(Transition.REJECTED, description)
    return life


def from_shape(shape: object) -> LifeCycle | None:
    """A ``ModelLifeCycle`` as DescribeModelPackage or an event carries it; None if absent or invalid."""
    if not isinstance(shape, Mapping):
        return None
    try:
        return LifeCycle(
            str(shape.get("Stage") or ""),
            str(shape.get("StageStatus") or ""),
            str(shape.get("StageDescription") or "")[:1024],
        )
    except ValueError:
        return None


def stage_text(life: LifeCycle | None, *, with_description: bool = False) -> str:
    """Plain text for terminals and logs: ``Staging/InProgress`` (``— description``), or ``none``."""
    if life is None:
        return "none"
    text = f"{life.stage}/{life.status}"
    return f"{text} — {life.description}" if with_description and life.description else text
