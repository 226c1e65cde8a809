"""One form of duration for every setting and command that takes one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ml.durations import describe_duration, off_or_duration, read_duration


def test_a_duration_is_a_positive_number_of_an_allowed_unit() -> None:
    assert read_duration(" 24H ") == timedelta(hours=24)
    assert read_duration("10s", "smhd") == timedelta(seconds=10)
    assert read_duration("10s") is None  # seconds only where the caller allows them
    for text in ("0m", "5", "m", "1.5h", "-2d", "1234567m", "4 hours"):
        assert read_duration(text, "smhd") is None, text


def test_the_shortest_exact_form_is_written_back() -> None:
    assert [describe_duration(timedelta(seconds=s)) for s in (259200, 5400, 90, 3600)] == [
        "3d",
        "90m",
        "90s",
        "1h",
    ]


def test_off_or_a_duration_names_both_when_neither() -> None:
    def parse(text: str) -> timedelta:
        found = read_duration(text)
        if found is None:
            raise ValueError(f"not a duration: {text!r}")
        return found

    assert [off_or_duration(t, parse) for t in ("OFF", "0", " ", " 2H ")] == ["off", "off", "off", "2h"]
    with pytest.raises(ValueError, match=r"^not a duration: 'soon', or off$"):
        off_or_duration("soon", parse)
