"""Registry lifecycle stages kept in step with what the bot does (``ml.lifecycle`` holds the mapping).

``LifeCycles.on_result`` is the release core's first result listener: once an approval, rejection or
switch is persisted and audited, it sets the registry stage of each version concerned, before any
front end renders the result. A write is recorded in the store before the platform call (the
``pending`` namespace), so a failed or interrupted write is retried on the bot's next action or the
next package event, and the card says it is owed meanwhile.

``observe`` reads a model package event: a stage the bot did not set is an outside change, returned
once to be rendered; the bot's own writes, and repeats of a change already rendered, return None.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ml.lifecycle import LifeCycle, Transition, life_cycle_for, registered
from ml.platform import ApprovalStatus, ModelPackage, PlatformError

from .base import ReleaseCore
from .models import Action, Outcome, Result
from .store import Store

log = logging.getLogger(__name__)

__all__ = ["NS_LIFECYCLE", "NS_LIFECYCLE_PENDING", "LifeCycles", "PendingStage", "transitions"]

#: per version: the stage the bot last wrote, and the last outside stage rendered
NS_LIFECYCLE = "lifecycle"
#: per version: a stage write not yet confirmed by the registry
NS_LIFECYCLE_PENDING = "lifecycle-pending"
_ERROR_LIMIT = 300


@dataclass(frozen=True)
class PendingStage:
    """A stage the bot owes the registry, and why the last attempt failed (empty while in flight)."""

    life_cycle: LifeCycle
    error: str = ""


def _key(version: int) -> str:
    return f"v{version:08d}"


def _dump(life: LifeCycle) -> dict[str, str]:
    return {"stage": life.stage, "status": life.status, "description": life.description}


def _load(raw: object) -> LifeCycle | None:
    if not isinstance(raw, dict):
        return None
    try:
        return LifeCycle(
            str(raw.get("stage", "")), str(raw.get("status", "")), str(raw.get("description", ""))
        )
    except ValueError:
        return None


def transitions(result: Result) -> list[tuple[int, Transition, str]]:
    """The stage changes a persisted result implies: (version, transition, description)."""
    if result.outcome is not Outcome.DONE or result.version is None or result.data.get("external"):
        return []
    version, who = result.version, result.actor.label
    reason = str(result.data.get("reason") or "")
    previous = result.data.get("from_version")
    replaced = previous if isinstance(previous, int) and previous != version else None
    match result.action:
        case Action.APPROVE if result.data.get("status") == ApprovalStatus.APPROVED.value:
            # (a vote towards an N-of-M rule that is not met yet leaves the version pending)
            return [(version, Transition.APPROVED, f"Approved by {who} via mlops-bot" + _colon(reason))]
        case Action.REJECT:
            return [(version, Transition.REJECTED, f"Rejected by {who} via mlops-bot" + _colon(reason))]
        case Action.DEPLOY if result.environment == "staging":
            return [(version, Transition.STAGING, f"Deployed to staging by {who} via mlops-bot")]
        case Action.PROMOTE:
            changes = [(version, Transition.PRODUCTION, f"Promoted to production by {who} via mlops-bot")]
            if replaced is not None:
                text = f"Replaced in production by v{version} (promoted by {who} via mlops-bot)"
                changes.append((replaced, Transition.REPLACED, text))
            return changes
        case Action.ROLLBACK if result.environment == "production":
            text = f"Production rolled back to v{version} by {who} via mlops-bot"
            changes = [(version, Transition.PRODUCTION, text)]
            if replaced is not None:
                away = f"Production rolled back from v{replaced} to v{version} by {who} via mlops-bot"
                changes.append((replaced, Transition.REPLACED, away))
            return changes
        case Action.ROLLBACK if result.environment == "staging":
            return [
                (version, Transition.STAGING, f"Staging rolled back to v{version} by {who} via mlops-bot")
            ]
    return []


def _colon(reason: str) -> str:
    return f": {reason}" if reason.strip() else ""


class LifeCycles:
    def __init__(self, core: ReleaseCore) -> None:
        self.core = core

    @property
    def _store(self) -> Store:
        return self.core.records.store

    # -- the bot's own changes --------------------------------------------------------------------
    def on_result(self, result: Result) -> None:
        """Subscribed first to the release core: write the stages a persisted result implies."""
        changes = transitions(result)
        written = {version for version, _, _ in changes}
        for version, transition, description in changes:
            self.write(version, life_cycle_for(transition, description))
        self.retry(skip=written)

    def write(self, version: int, life: LifeCycle) -> bool:
        """Record the stage as owed, set it in the registry, and clear it; False (logged) if that failed."""
        store = self._store
        store.put(NS_LIFECYCLE_PENDING, _key(version), {"version": version, **_dump(life)})
        record = store.get(NS_LIFECYCLE, _key(version)) or {}
        # the bot's stage supersedes an outside one: the same outside stage set again is news again
        store.put(NS_LIFECYCLE, _key(version), {**record, "written": _dump(life), "seen": None})
        try:
            self.core.platform.update_life_cycle(version, life)
        except PlatformError as exc:
            log.warning(
                "v%s: could not set the registry stage to %s/%s: %s", version, life.stage, life.status, exc
            )
            error = str(exc)[:_ERROR_LIMIT]
            store.put(
                NS_LIFECYCLE_PENDING, _key(version), {"version": version, **_dump(life), "error": error}
            )
            return False
        store.delete(NS_LIFECYCLE_PENDING, _key(version))
        return True

    def retry(self, skip: set[int] | frozenset[int] = frozenset()) -> None:
        """Write again every stage still owed (from a failed call or a process that stopped mid-way)."""
        for _, raw in self._store.query(NS_LIFECYCLE_PENDING):
            version = raw.get("version")
            life = _load(raw)
            if isinstance(version, int) and version not in skip and life is not None:
                self.write(version, life)

    def pending(self, version: int) -> PendingStage | None:
        raw = self._store.get(NS_LIFECYCLE_PENDING, _key(version))
        life = _load(raw)
        if raw is None or life is None:
            return None
        return PendingStage(life, str(raw.get("error") or ""))

    # -- changes seen in the registry -------------------------------------------------------------
    def observe(self, package: ModelPackage) -> LifeCycle | None:
        """After a package event: the stage an outside change set, once; None when there is none.

        A new version without a stage gets Development (the bot's own write). A version the bot has
        no record of adopts what the registry shows, unannounced: nothing says it changed. Events
        arrive while the bot may be writing (another thread or process): the registry is read between
        two reads of the bot's record, and a stage is judged only if the bot wrote nothing meanwhile.
        """
        self.retry()
        store = self._store
        key = _key(package.version)
        before = store.get(NS_LIFECYCLE, key)
        if store.get(NS_LIFECYCLE_PENDING, key) is not None:
            return None  # the bot is changing it: its own event follows
        current = self.core.platform.describe_model_package(package.version)
        record = store.get(NS_LIFECYCLE, key)
        if record != before or store.get(NS_LIFECYCLE_PENDING, key) is not None:
            return None
        life = current.life_cycle
        if life is None:
            if record is None:
                self.write(current.version, registered(current.approval_status.value))
            return None
        if record is None:
            store.put_if_absent(NS_LIFECYCLE, key, {"seen": _dump(life)})
            return None
        if life == _load(record.get("written")) or life == _load(record.get("seen")):
            return None
        if not store.replace_if(NS_LIFECYCLE, key, record, {**record, "seen": _dump(life), "written": None}):
            return None  # another process took it (and reports it) first
        return life
