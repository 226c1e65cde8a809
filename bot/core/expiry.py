"""Approval windows: a pending version may be approved for ``MLOPS_APPROVAL_TTL`` after it was
registered (or after a trainer requested approval again), and the approvers are reminded before that.

What is due later is kept in the store (``schedule``), keyed by when it is due, so that any process can
do it: a ticker in ``serve`` and ``shell``, or a scheduled Lambda invocation on AWS. Each item is
claimed with ``put_if_absent`` before it is done, so it is done once across restarts, threads and
concurrent invocations. The time is the core's clock.

Key layout:
- ``approval-window`` ``v00000003``                              -> the version's current window
- ``schedule``        ``<due time>#v00000003#<window>#<kind>``   -> a reminder or the expiry, due then
- ``schedule-done``   the same key                               -> claimed (done or being done)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ml.durations import describe_duration, off_or_duration, read_duration
from ml.platform import ApprovalStatus, ModelPackage, PlatformError

from .base import SYSTEM, ReleaseCore
from .models import Action, Actor, Outcome, Result, format_time, parse_time
from .policy import allowed
from .queries import when
from .records import version_key

log = logging.getLogger(__name__)

__all__ = [
    "NS_SCHEDULE",
    "NS_SCHEDULE_DONE",
    "NS_WINDOW",
    "ApprovalExpiry",
    "Reminder",
    "TickReport",
    "Window",
    "describe_duration",
    "parse_duration",
]

NS_WINDOW = "approval-window"
NS_SCHEDULE = "schedule"
NS_SCHEDULE_DONE = "schedule-done"
#: how long a claim is kept: far longer than any item can stay due
DONE_TTL_SECONDS = 30 * 24 * 3600
#: a claimed item still in the schedule this long after it was due lost its claimer (a crash): dropped
ABANDONED = timedelta(hours=1)
#: items one round looks at; the rest wait for the next round
BATCH = 100

#: the longest approval window or reminder lead: a year
MAX_DURATION = timedelta(days=365)


def parse_duration(text: str) -> timedelta:
    """``10s``, ``30m``, ``72h`` or ``7d``; ValueError naming the accepted forms."""
    value = read_duration(text, "smhd")
    if value is None:
        raise ValueError(
            f"a duration is a positive number with s, m, h or d (10s, 30m, 72h, 7d), not {text!r}"
        )
    if value > MAX_DURATION:
        raise ValueError(f"a duration is at most 365d, not {text!r}")
    return value


def ttl_setting(text: str) -> str:
    """``MLOPS_APPROVAL_TTL`` checked and normalised: a duration, or ``off``."""
    return off_or_duration(text, parse_duration)


def reminder_leads(ttl: timedelta | None, reminders: Sequence[str]) -> tuple[timedelta, ...]:
    """``MLOPS_APPROVAL_REMINDERS`` as leads before expiry, longest first: distinct, positive, shorter
    than the TTL. ValueError says which is not."""
    name = "MLOPS_APPROVAL_REMINDERS"
    try:
        leads = [parse_duration(r) for r in reminders]
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
    if leads and ttl is None:
        raise ValueError(f"{name} needs MLOPS_APPROVAL_TTL: a reminder comes that long before expiry")
    if len(set(leads)) != len(leads):
        raise ValueError(f"{name} lists a reminder twice: {', '.join(reminders)}")
    if ttl is not None and (long := [r for r, lead in zip(reminders, leads, strict=True) if lead >= ttl]):
        raise ValueError(
            f"{name}: {', '.join(long)} is not shorter than MLOPS_APPROVAL_TTL ({describe_duration(ttl)}); "
            "a reminder comes that long before expiry"
        )
    return tuple(sorted(leads, reverse=True))


@dataclass(frozen=True)
class Window:
    """The time a pending version may be approved in."""

    version: int
    started: datetime
    expires: datetime
    #: who requested approval again ("" when the window opened at registration)
    requested_by: str = ""

    @property
    def generation(self) -> str:
        """Tells this window's scheduled items from those of an earlier one."""
        return format_time(self.started)

    def expired(self, now: datetime) -> bool:
        return now >= self.expires

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "started": format_time(self.started),
            "expires": format_time(self.expires),
            "requested_by": self.requested_by,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Window:
        return cls(
            int(d["version"]),
            parse_time(str(d["started"])),
            parse_time(str(d["expires"])),
            str(d.get("requested_by", "")),
        )


@dataclass(frozen=True)
class Reminder:
    """A reminder due now: ``version`` closes for approval at ``expires``, ``lead`` from now."""

    version: int
    expires: datetime
    lead: timedelta


@dataclass
class TickReport:
    """What one round did (versions reminded, versions expired) and the items it skipped."""

    reminded: list[int] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)
    skipped: int = 0
    #: environments whose warm standby was retired
    retired: list[str] = field(default_factory=list)


class ApprovalExpiry:
    """Opens, reads and restarts approval windows, and runs the work they schedule (stateless)."""

    def __init__(self, core: ReleaseCore) -> None:
        self.core = core

    @property
    def ttl(self) -> timedelta | None:
        return self.core.approval_ttl

    @property
    def reminders(self) -> Sequence[timedelta]:
        return self.core.approval_reminders

    @property
    def store(self) -> Any:
        return self.core.records.store

    # -- windows ---------------------------------------------------------------------------------
    def window(self, version: int) -> Window | None:
        record = self.store.get(NS_WINDOW, version_key(version))
        if record is None:
            return None
        try:
            return Window.from_dict(record)
        except (KeyError, TypeError, ValueError):
            log.warning("v%s: unreadable approval window %r: ignored", version, record)
            return None

    def open(self, package: ModelPackage) -> Window | None:
        """The window of a pending version, opened at its registration if it has none yet.

        None when windows are off or the version is not pending. Idempotent: every process that
        sees the registration writes the same keys.
        """
        if self.ttl is None or package.approval_status is not ApprovalStatus.PENDING:
            return None
        if (existing := self.window(package.version)) is not None:
            return existing
        window = Window(package.version, package.created_at, package.created_at + self.ttl)
        self._schedule(window)  # first: a window stored without its schedule would never remind
        if self.store.put_if_absent(NS_WINDOW, version_key(package.version), window.to_dict()):
            return window
        return self.window(package.version) or window

    def expired_problem(self, version: int) -> str | None:
        """Why ``version`` cannot be approved now because its window closed; None when it can."""
        if self.ttl is None or self.core.records.decision(version) is not None:
            return None
        window = self.window(version)
        if window is None:
            try:
                package = self.core.platform.describe_model_package(version)
            except PlatformError:
                return None  # the approval itself says what the platform answered
            window = self.open(package)
        if window is None or not window.expired(self.core.clock.now()):
            return None
        since = "approval was requested again" if window.requested_by else "it was registered"
        return (
            f"v{version}'s approval window closed at {when(window.expires)} "
            f"({describe_duration(window.expires - window.started)} after {since}): approving it is refused. "
            f"A trainer can request approval again (`request-approval v{version}`)."
        )

    def refuse_expired(self, actor: Actor, version: int) -> Result | None:
        """The approve path's check: a refusal (audited, nothing changed) when the window closed."""
        if allowed(actor, Action.APPROVE) is not None:
            return None  # the approval's own policy check answers, and audits, that
        problem = self.expired_problem(version)
        if problem is None:
            return None
        if (window := self.window(version)) is not None:
            self._expire_once(window)  # the card says so now, not only at the ticker's next round
        return self.core._refuse(
            actor, Action.APPROVE, f"v{version}", problem, version=version, data={"expired": True}
        )

    def request_again(self, actor: Actor, version: int) -> Result:
        """Restart an expired window: approving is possible again for the whole TTL."""
        core, action, target = self.core, Action.REQUEST_APPROVAL, f"v{version}"
        if (denied := core._guard(actor, action, target, version)) is not None:
            return denied
        if self.ttl is None:
            return core._refuse(
                actor,
                action,
                target,
                "Approvals do not expire here (MLOPS_APPROVAL_TTL is off).",
                version=version,
            )
        package = core._package(actor, action, version)
        if isinstance(package, Result):
            return package
        decision = core.records.decision(version)
        if decision is not None or package.approval_status is not ApprovalStatus.PENDING:
            status = decision.status if decision is not None else package.approval_status
            return core._refuse(
                actor,
                action,
                target,
                f"v{version} is {status.value}: there is no approval to request.",
                version=version,
            )
        now = core.clock.now()
        current = self.open(package)
        if current is not None and not current.expired(now):
            message = f"v{version} can be approved until {when(current.expires)}; nothing changed."
            return core._refuse(actor, action, target, message, version=version, outcome=Outcome.NOOP)
        window = Window(version, now, now + self.ttl, actor.label)
        self._schedule(window)
        key = version_key(version)
        swapped = (
            self.store.replace_if(NS_WINDOW, key, current.to_dict(), window.to_dict())
            if current is not None
            else self.store.put_if_absent(NS_WINDOW, key, window.to_dict())
        )
        if not swapped:  # someone requested it at the same moment: theirs stands
            return core._refuse(
                actor,
                action,
                target,
                f"Approval of v{version} was just requested again; nothing changed.",
                version=version,
                outcome=Outcome.NOOP,
            )
        message = f"Requested approval of v{version} again: approvers have until {when(window.expires)}."
        data = {"expires": format_time(window.expires)}
        return core._finish(Result(action, Outcome.DONE, message, actor, version, data=data), target)

    # -- scheduled work --------------------------------------------------------------------------
    def _schedule(self, window: Window) -> None:
        items: list[tuple[datetime, str, dict[str, Any]]] = [(window.expires, "expire", {})]
        for lead in self.reminders:
            if lead < window.expires - window.started:
                name = f"remind-{describe_duration(lead)}"
                items.append((window.expires - lead, name, {"lead_seconds": int(lead.total_seconds())}))
        for due, kind, extra in items:
            key = _key(due, window, kind)
            value = {"version": window.version, "window": window.generation, "kind": kind, **extra}
            self.store.put(NS_SCHEDULE, key, value)

    def run_due(self, remind: Callable[[Reminder], None]) -> TickReport:
        """Do what is due now, each item once however many processes run this at the same time.

        ``remind`` sends a reminder (a Slack reply); when it raises, the item is released and
        tried again next round. An expiry is audited and announced like any result.
        """
        report = TickReport()
        now = self.core.clock.now()
        cutoff = format_time(now)
        for key, item in self.store.query(NS_SCHEDULE, limit=BATCH):
            if key[: len(cutoff)] > cutoff:
                break  # keys sort by due time: the rest are later
            claim = {"at": format_time(now), "owner": self.core.owner}
            if not self.store.put_if_absent(NS_SCHEDULE_DONE, key, claim, ttl_seconds=DONE_TTL_SECONDS):
                report.skipped += 1
                if parse_time(key.split("#", 1)[0]) < now - ABANDONED:
                    self.store.delete(NS_SCHEDULE, key)
                continue
            try:
                self._do(item, now, remind, report)
            except Exception:
                self.store.delete(NS_SCHEDULE_DONE, key)  # released: the next round tries again
                log.exception(
                    "scheduled %s of v%s failed; it is tried again", item.get("kind"), item.get("version")
                )
                continue
            self.store.delete(NS_SCHEDULE, key)
        return report

    def _do(
        self, item: Mapping[str, Any], now: datetime, remind: Callable[[Reminder], None], report: TickReport
    ) -> None:
        version = int(item["version"])
        window = self.window(version)
        if window is None or window.generation != item.get("window") or self.core.records.decision(version):
            report.skipped += 1  # decided, or approval was requested again since: nothing to do
            return
        if item.get("kind") == "expire":
            self._announce_expiry(window)
            report.expired.append(version)
        elif not window.expired(now):
            remind(Reminder(version, window.expires, timedelta(seconds=int(item.get("lead_seconds", 0)))))
            report.reminded.append(version)
        else:
            report.skipped += 1  # a reminder after the window closed says nothing useful

    def _announce_expiry(self, window: Window) -> None:
        v = window.version
        message = (
            f"v{v}'s approval window closed at {when(window.expires)}: approving it is refused "
            "until a trainer requests approval again."
        )
        data = {"expired": True, "expires": format_time(window.expires)}
        self.core._finish(Result(Action.EXPIRE, Outcome.DONE, message, SYSTEM, v, data=data), f"v{v}")

    def _expire_once(self, window: Window) -> None:
        """Announce ``window``'s expiry unless a ticker already claimed it (the same claim as its item)."""
        key = _key(window.expires, window, "expire")
        claim = {"at": format_time(self.core.clock.now()), "owner": self.core.owner}
        if self.store.put_if_absent(NS_SCHEDULE_DONE, key, claim, ttl_seconds=DONE_TTL_SECONDS):
            self._announce_expiry(window)
            self.store.delete(NS_SCHEDULE, key)


def _key(due: datetime, window: Window, kind: str) -> str:
    """Scheduled items sort by when they are due; the window's generation tells restarted windows apart."""
    return f"{format_time(due)}#{version_key(window.version)}#{window.generation}#{kind}"
