"""MLOPS_FREEZE_WINDOWS: the format, its errors, and windows held in local wall-clock time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.freeze_windows import parse_windows
from bot.settings import ConfigError, load_settings


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_weekly_window_keeps_its_local_hours_across_a_dst_change() -> None:
    # Paris moves to summer time on Sunday 2026-03-29: Friday 17:00 is 16:00 UTC, Monday 08:00 is 06:00 UTC
    (window,) = parse_windows("production: Fri 17:00 - Mon 08:00 Europe/Paris")
    assert window.holds(at("2026-03-27T15:59")) is None
    end = window.holds(at("2026-03-27T16:00"))
    assert end is not None and end.astimezone(UTC) == at("2026-03-30T06:00")
    assert window.holds(at("2026-03-30T05:59")) is not None
    # one hour earlier in UTC than a window taken at Friday's offset would end
    assert window.holds(at("2026-03-30T06:00")) is None
    assert window.holds(at("2026-03-30T06:30")) is None
    # and in the autumn (2026-10-25) the end moves the other way
    end = window.holds(at("2026-10-26T06:30"))
    assert end is not None and end.astimezone(UTC) == at("2026-10-26T07:00")


def test_a_daily_window_wraps_over_midnight() -> None:
    (window,) = parse_windows("staging: daily 22:00 - 06:00 UTC")
    assert window.holds(at("2026-05-05T21:59")) is None
    end = window.holds(at("2026-05-05T23:00"))
    assert end is not None and end.astimezone(UTC) == at("2026-05-06T06:00")
    assert window.holds(at("2026-05-06T05:59")) is not None
    assert window.holds(at("2026-05-06T06:00")) is None


def test_several_windows_and_full_day_names() -> None:
    windows = parse_windows(
        " production: friday 17:00 - monday 08:00 UTC ; staging: Sat 00:00 - Sun 23:59 UTC;"
    )
    assert [(w.environment, w.text) for w in windows] == [
        ("production", "Fri 17:00 - Mon 08:00 UTC"),
        ("staging", "Sat 00:00 - Sun 23:59 UTC"),
    ]
    assert parse_windows("") == ()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("prod: Fri 17:00 - Mon 08:00 UTC", "start with the environment, `staging:` or `production:`"),
        ("production: Fri 25:00 - Mon 08:00 UTC", "'25:00' is not a time; write 24-hour HH:MM"),
        ("production: Fry 17:00 - Mon 08:00 UTC", "'Fry' is not a day; use Mon, Tue"),
        ("production: Fri 17:00 - Mon 08:00 Mars/Olympus", "'Mars/Olympus' is not an IANA time zone"),
        ("production: Fri 17:00 to Mon 08:00 UTC", "write `DAY HH:MM - DAY HH:MM ZONE`"),
        ("staging: daily 06:00 - 06:00 UTC", "cannot start and end at the same time"),
    ],
)
def test_bad_windows_are_named_precisely_at_load(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match="window 1") as exc:
        parse_windows(text)
    assert problem in str(exc.value)
    with pytest.raises(ConfigError) as bad:
        load_settings(mlops_freeze_windows=f"staging: daily 22:00 - 06:00 UTC; {text}")
    assert "MLOPS_FREEZE_WINDOWS: window 2" in str(bad.value) and problem in str(bad.value)
