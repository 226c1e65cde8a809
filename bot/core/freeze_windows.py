"""Recurring freeze windows (``MLOPS_FREEZE_WINDOWS``): parsing, and whether one holds at a moment.

The format, one window per ``;``::

    production: Fri 17:00 - Mon 08:00 Europe/Paris; staging: daily 22:00 - 06:00 UTC

A weekly window runs from a day and time to a later day and time (wrapping over the week's end);
``daily`` repeats every day. Times are wall-clock times in the window's IANA time zone, so a window
keeps its local hours across a daylight saving change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ml.platform import ENVIRONMENTS, Environment

__all__ = ["DAYS", "EXAMPLE", "FreezeWindow", "parse_windows"]

EXAMPLE = "production: Fri 17:00 - Mon 08:00 Europe/Paris; staging: daily 22:00 - 06:00 UTC"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEK = timedelta(days=7)
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class FreezeWindow:
    environment: Environment
    #: weekday (0 = Monday) of start and end; None for a daily window
    start_day: int | None
    start: time
    end_day: int | None
    end: time
    zone: str
    #: the window as written, normalised (``Fri 17:00 - Mon 08:00 Europe/Paris``)
    text: str

    def holds(self, now: datetime) -> datetime | None:
        """When the window in force at ``now`` ends (aware, UTC offset of its zone); None outside it."""
        tz = ZoneInfo(self.zone)
        local = now.astimezone(tz).replace(tzinfo=None)
        period = _DAY if self.start_day is None else _WEEK
        # wall-clock arithmetic on naive local times: a DST change moves the UTC instant, not the hour
        start = self._last(local, self.start_day, self.start, period)
        end = start + self._length(period)
        if start <= local < end:
            return end.replace(tzinfo=tz)
        return None

    def _length(self, period: timedelta) -> timedelta:
        start = timedelta(days=self.start_day or 0, hours=self.start.hour, minutes=self.start.minute)
        end = timedelta(days=self.end_day or 0, hours=self.end.hour, minutes=self.end.minute)
        return (end - start) % period or period

    @staticmethod
    def _last(local: datetime, day: int | None, at: time, period: timedelta) -> datetime:
        """The latest start at or before ``local``."""
        back = 0 if day is None else (local.weekday() - day) % 7
        start = datetime.combine(local.date() - timedelta(days=back), at)
        return start - period if start > local else start


def _clock(token: str, where: str) -> time:
    hour, sep, minute = token.partition(":")
    shaped = sep and hour.isdigit() and minute.isdigit() and len(minute) == 2 and len(hour) <= 2
    if shaped and int(hour) < 24 and int(minute) < 60:
        return time(int(hour), int(minute))
    raise ValueError(f"{where}: {token!r} is not a time; write 24-hour HH:MM, e.g. 17:00")


def _day(token: str, where: str) -> int:
    low = token.lower()
    for number, (short, full) in enumerate(zip(DAYS, FULL_DAYS, strict=True)):
        if low in (short, full):
            return number
    raise ValueError(f"{where}: {token!r} is not a day; use Mon, Tue, Wed, Thu, Fri, Sat or Sun")


def _zone(token: str, where: str) -> str:
    try:
        ZoneInfo(token)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{where}: {token!r} is not an IANA time zone (e.g. UTC, Europe/Paris, America/New_York)"
        ) from None
    return token


def _window(part: str, number: int) -> FreezeWindow:
    where = f"window {number} ({part.strip()!r})"
    env_text, colon, rest = part.partition(":")
    env = env_text.strip().lower()
    if not colon or env not in ENVIRONMENTS:
        raise ValueError(f"{where}: start with the environment, `staging:` or `production:`")
    left, dash, right = rest.partition(" - ")
    before, after = left.split(), right.split()
    if not dash or not before or len(after) not in (2, 3):
        raise ValueError(f"{where}: write `DAY HH:MM - DAY HH:MM ZONE` or `daily HH:MM - HH:MM ZONE`")
    environment: Environment = "staging" if env == "staging" else "production"
    zone = _zone(after[-1], where)
    if len(before) == 2 and before[0].lower() == "daily" and len(after) == 2:
        start, end = _clock(before[1], where), _clock(after[0], where)
        if start == end:
            raise ValueError(f"{where}: a daily window cannot start and end at the same time")
        text = f"daily {before[1]} - {after[0]} {zone}"
        return FreezeWindow(environment, None, start, None, end, zone, text)
    if len(before) != 2 or len(after) != 3:
        raise ValueError(f"{where}: write `DAY HH:MM - DAY HH:MM ZONE` or `daily HH:MM - HH:MM ZONE`")
    start_day, start = _day(before[0], where), _clock(before[1], where)
    end_day, end = _day(after[0], where), _clock(after[1], where)
    if (start_day, start) == (end_day, end):
        raise ValueError(f"{where}: a window cannot start and end at the same moment")
    text = f"{DAYS[start_day].title()} {before[1]} - {DAYS[end_day].title()} {after[1]} {zone}"
    return FreezeWindow(environment, start_day, start, end_day, end, zone, text)


def parse_windows(text: str) -> tuple[FreezeWindow, ...]:
    """``MLOPS_FREEZE_WINDOWS`` as windows; ValueError naming the window and what is wrong with it."""
    parts = [p for p in text.split(";") if p.strip()]
    return tuple(_window(part, number) for number, part in enumerate(parts, 1))
