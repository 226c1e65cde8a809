"""Durations as people type them (``10s``, ``30m``, ``4h``, ``7d``) and as the bot writes them back.

Each caller keeps its own words and bound (a drift window, an approval window); the form is one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

__all__ = ["describe_duration", "off_or_duration", "read_duration"]

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_FORM = re.compile(r"\s*(\d{1,6})\s*([smhd])\s*")
OFF = "off"


def read_duration(text: str, units: str = "mhd") -> timedelta | None:
    """``text`` as a positive whole number of one of ``units`` (of ``smhd``); None when it is not one."""
    match = _FORM.fullmatch(text.lower())
    if match is None or match.group(2) not in units or int(match.group(1)) == 0:
        return None
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def describe_duration(value: timedelta) -> str:
    """The shortest exact form: ``72h`` -> ``3d``, ``90m`` -> ``90m``."""
    seconds = int(value.total_seconds())
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def off_or_duration(text: str, parse: Callable[[str], timedelta]) -> str:
    """A setting that is a duration or ``off`` (also ``0`` or empty), normalised; ``parse``'s
    ValueError, which says what a duration is, ends with ", or off"."""
    if text.strip().lower() in (OFF, "0", ""):
        return OFF
    try:
        parse(text)
    except ValueError as exc:
        raise ValueError(f"{exc}, or off") from None
    return text.strip().lower()
