from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from ml.drift.baseline import OTHER, score_baseline
from ml.drift.check import DriftThresholds, check
from tests.ml.drift.conftest import shifted


def test_held_out_adult_test_does_not_drift(adult_baseline: dict[str, Any], adult_test: pd.DataFrame) -> None:
    report = check(adult_baseline, adult_test)
    assert report.rows == len(adult_test) == 16281
    assert {f.name: f.status for f in report.features} == {name: "ok" for name in adult_baseline["features"]}
    assert max(f.psi for f in report.features) < 0.1
    assert report.status == "ok"


def test_shifted_age_and_hours_drift_and_nothing_else(
    adult_baseline: dict[str, Any], adult_test: pd.DataFrame
) -> None:
    report = check(adult_baseline, shifted(adult_test))
    by_name = {f.name: f for f in report.features}
    assert by_name["age"].psi > 0.25 and by_name["age"].status == "drift"
    assert by_name["hours-per-week"].psi > 0.25 and by_name["hours-per-week"].status == "drift"
    others = [f for f in report.features if f.name not in ("age", "hours-per-week")]
    assert others and all(f.psi < 0.1 for f in others)
    assert report.status == "drift"


def test_unseen_categories_count_as_other_and_missing_rates_are_reported(
    adult_baseline: dict[str, Any], adult_test: pd.DataFrame
) -> None:
    rows = adult_test.copy()
    rows.loc[: len(rows) // 2, "workclass"] = "Space-agency"
    rows.loc[: len(rows) // 4, "occupation"] = "?"
    report = check(adult_baseline, rows)
    workclass = next(f for f in report.features if f.name == "workclass")
    assert workclass.unseen_share > 0.45 and workclass.status == "drift"
    assert workclass.bins[-1][0] == OTHER
    occupation = next(f for f in report.features if f.name == "occupation")
    assert occupation.current_missing_rate > 0.25 > occupation.baseline_missing_rate


def test_status_thresholds_are_inclusive_between_warn_and_drift() -> None:
    limits = DriftThresholds()
    assert [limits.status(v) for v in (0.0999, 0.1, 0.25, 0.2501)] == ["ok", "warn", "warn", "drift"]


def test_score_drift_joins_the_report(adult_baseline: dict[str, Any], adult_test: pd.DataFrame) -> None:
    rng = np.random.default_rng(3)
    baseline = {**adult_baseline, "score": score_baseline(rng.beta(1, 4, 5000))}
    same = check(baseline, adult_test, rng.beta(1, 4, 3000))
    assert same.score is not None and same.score.status == "ok"
    moved = check(baseline, adult_test, rng.beta(4, 1, 3000))
    assert moved.score is not None and moved.score.status == "drift" and moved.status == "drift"
    doc = moved.to_dict()
    assert doc["score"]["name"] == "score" and len(doc["score"]["bins"]) == 10
    assert set(doc["features"][0]) >= {"name", "psi", "status", "bins", "unseen_share"}


def test_a_baseline_of_another_format_is_refused(
    adult_baseline: dict[str, Any], adult_test: pd.DataFrame
) -> None:
    with pytest.raises(ValueError, match="format"):
        check({**adult_baseline, "format_version": 99}, adult_test)


def test_values_that_are_not_numbers_count_as_missing(
    adult_baseline: dict[str, Any], adult_test: pd.DataFrame
) -> None:
    rows = adult_test.head(1000).copy()
    rows.loc[:99, "age"] = "unknown"
    age = next(f for f in check(adult_baseline, rows).features if f.name == "age")
    assert age.current_missing_rate == pytest.approx(0.1) and age.count == 900


def test_the_same_report_without_pyarrow(
    adult_baseline: dict[str, Any], adult_test: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ml.drift import arrow

    rows = shifted(adult_test.head(2000))
    with_arrow = check(adult_baseline, rows).to_dict()
    monkeypatch.setattr(arrow, "pa", None)
    assert not arrow.available()
    assert check(adult_baseline, rows).to_dict() == with_arrow
