"""Rollout words: policies, countdowns, stages and verdicts, outside text escaped."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from handlers.render.rollout import clock_time, ending_words, policy_words, stage_words
from ml.rollout_policy import parse_rollout
from tests.scripted_rollout import START, progress


@pytest.mark.parametrize(
    ("text", "alarms", "said"),
    [
        ("canary 5% 10m bake 5m", ("A", "B"), "canary 5% for 10m, then bake 5m; guarded by alarms A, B"),
        ("canary 10% 5m bake 0s", (), "canary 10% for 5m, then 100%"),
        (
            "linear 25% 2m bake 1m",
            ("x<y>",),
            "linear 25% every 2m (25% → 50% → 75% → 100%), then bake 1m; guarded by alarm x&lt;y&gt;",
        ),
        ("all-at-once bake 0s", (), "all at once"),
    ],
)
def test_policy_words(text: str, alarms: tuple[str, ...], said: str) -> None:
    assert policy_words(parse_rollout(text), alarms) == said


def test_countdowns_read_as_clocks() -> None:
    assert [clock_time(s) for s in (0, 59.9, 200, 3725, -5)] == ["0:00", "0:59", "3:20", "1:02:05", "0:00"]


def test_stage_words_per_phase() -> None:
    now = START
    assert stage_words(progress(), now) == "canary 10 %, baking 3:20 left"
    linear = replace(progress(traffic=40), policy=parse_rollout("linear 20% 2m"))
    assert stage_words(linear, now) == "linear 40 %, next step in 3:20"
    assert stage_words(progress("baking", 100), now + timedelta(seconds=80)) == "100 %, baking 2:00 left"
    assert stage_words(progress("provisioning", 0), now).startswith("provisioning the new fleet")


def test_verdicts_name_who_or_what_ended_it() -> None:
    assert ending_words(progress("promoted", 100)) == ":white_check_mark: Promoted v2 to production."
    finished = ending_words(progress("promoted", 100, ended_by="rose"))
    assert finished.endswith("(finished early by @rose).")
    auto = ending_words(progress("rolled-back", 0, verdict="alarm a<b>: 6 errors"))
    assert (
        auto == ":rewind: Rolled back automatically: alarm a&lt;b&gt;: 6 errors. production serves v1 again."
    )
    assert ending_words(progress("failed", 0, verdict="")).endswith("failed: no reason given.")
