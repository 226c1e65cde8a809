"""What a validation report says of its accuracy: the summary stored with it and shown on the card."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.validation import StagingAccuracy, summarize_report

FULL: dict[str, Any] = {
    "accuracy": 0.83,
    "correct": 166,
    "rows": 200,
    "rows_requested": 200,
    "accuracy_ci": [0.771841, 0.875721],
    "p95_ms": 3.2,
    "checks": [{"name": "accuracy", "passed": True}, {"name": "latency", "passed": True}],
}


def test_the_summary_gives_accuracy_rows_and_interval() -> None:
    assert summarize_report(FULL) == "accuracy 0.830 on 200 rows (95 % CI 0.772–0.876), p95 3 ms"


def test_the_accuracy_comes_from_the_counts_not_the_rounded_figure() -> None:
    report = {**FULL, "accuracy": 0.7995, "correct": 1599, "rows": 2000, "accuracy_ci": [0.78, 0.82]}
    found = StagingAccuracy.of(report)
    assert found is not None and found.accuracy == 1599 / 2000


def test_a_sample_capped_by_the_data_says_so() -> None:
    report = {**FULL, "rows": 120, "correct": 100, "rows_requested": 500, "accuracy_ci": [0.76, 0.89]}
    assert summarize_report(report).startswith(
        "accuracy 0.833 on 120 rows (95 % CI 0.760–0.890; 500 rows asked, the data holds only 120)"
    )


@pytest.mark.parametrize(
    ("report", "summary"),
    [
        ({"accuracy": 0.83, "rows": 200, "p95_ms": 3}, "accuracy 0.830 on 200 rows, p95 3 ms"),
        ({"accuracy": 0.83}, "accuracy 0.830"),
        ({"accuracy": 0.83, "rows": "200", "accuracy_ci": ["a", 1]}, "accuracy 0.830"),
        ({"accuracy": True, "rows": 200}, "no details"),
        (
            {"accuracy": None, "checks": [{"name": "response_shape", "passed": False}]},
            "failed checks: response_shape",
        ),
    ],
)
def test_older_or_partial_reports_give_what_they_hold(report: dict[str, Any], summary: str) -> None:
    assert summarize_report(report) == summary


def test_placement_against_the_interval() -> None:
    found = StagingAccuracy.of(FULL)
    assert found is not None
    # at the three places shown: 0.772–0.876
    assert [found.placement(v) for v in (0.8766, 0.8762, 0.8, 0.7716, 0.7714)] == [
        "above",
        "inside",
        "inside",
        "inside",
        "below",
    ]
    assert StagingAccuracy(0.83, 200).placement(0.9) is None
