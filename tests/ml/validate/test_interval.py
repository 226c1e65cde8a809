"""The Wilson interval against SciPy's own, and the accuracy phrase built on it."""

from __future__ import annotations

import pytest
from scipy.stats import binomtest

from ml.validate import describe_accuracy, wilson_interval

#: k = 0 and k = n at several sizes, small and near-certain samples, and the README's example 166/200
PAIRS = [(0, 1), (1, 1), (0, 50), (50, 50), (1, 50), (49, 50), (7, 13), (100, 200), (166, 200)]
PAIRS += [(0, 20_000), (20_000, 20_000), (19_990, 20_000)]


@pytest.mark.parametrize(("successes", "trials"), PAIRS)
def test_the_interval_matches_scipy(successes: int, trials: int) -> None:
    expected = binomtest(successes, trials).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = wilson_interval(successes, trials)
    assert low == pytest.approx(float(expected.low), abs=1e-9)
    assert high == pytest.approx(float(expected.high), abs=1e-9)
    assert 0.0 <= low <= successes / trials <= high <= 1.0


def test_other_confidence_levels_match_scipy() -> None:
    expected = binomtest(30, 40).proportion_ci(confidence_level=0.9, method="wilson")
    assert wilson_interval(30, 40, confidence=0.9) == pytest.approx((expected.low, expected.high), abs=1e-9)


def test_all_wrong_or_all_right_reach_the_bound_exactly() -> None:
    assert wilson_interval(0, 200)[0] == 0.0
    assert wilson_interval(200, 200)[1] == 1.0


@pytest.mark.parametrize(
    ("successes", "trials", "confidence", "message"),
    [
        (1, 0, 0.95, "trials must be at least 1, not 0"),
        (5, 4, 0.95, "successes must be within 0-4, not 5"),
        (-1, 4, 0.95, "successes must be within 0-4, not -1"),
        (1, 4, 1.0, r"confidence must be in \(0, 1\), not 1.0"),
    ],
)
def test_impossible_counts_are_refused(successes: int, trials: int, confidence: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        wilson_interval(successes, trials, confidence)


def test_the_phrase_gives_rows_and_interval() -> None:
    assert describe_accuracy(166, 200) == "accuracy 0.830 on 200 rows (95 % CI 0.772–0.876)"
    assert describe_accuracy(166, 200, digits=4) == "accuracy 0.8300 on 200 rows (95 % CI 0.7718–0.8757)"
