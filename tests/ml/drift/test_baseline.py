from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ml.drift.baseline import build_baseline, numeric_labels, numeric_proportions, score_baseline


def test_baseline_bins_follow_the_documented_rules(adult_baseline: dict[str, Any]) -> None:
    age = adult_baseline["features"]["age"]
    assert age["kind"] == "numeric"
    assert age["edges"] == sorted(set(age["edges"])) and 1 <= len(age["edges"]) <= 9
    assert len(age["proportions"]) == len(age["edges"]) + 1
    assert sum(age["proportions"]) == pytest.approx(1.0, abs=1e-6)
    country = adult_baseline["features"]["native-country"]
    assert country["kind"] == "categorical"
    assert "United-States" in country["categories"] and "Holand-Netherlands" not in country["categories"]
    assert len(country["proportions"]) == len(country["categories"]) + 1  # then __other__
    assert adult_baseline["features"]["workclass"]["missing_rate"] > 0.05  # adult's '?'
    assert adult_baseline["score"] is None  # the preprocess step has no scores
    json.dumps(adult_baseline)  # serialisable as written


def test_values_on_an_edge_fall_in_the_bin_closed_there() -> None:
    shares = numeric_proportions(np.array([1.0, 2.0, 2.5, 3.0, 9.0]), [2.0, 3.0])
    assert shares.tolist() == [0.4, 0.4, 0.2]
    assert numeric_labels([2.0, 3.0]) == ["(-inf, 2]", "(2, 3]", "(3, inf)"]


def test_rare_categories_fold_into_other() -> None:
    frame = pd.DataFrame({"colour": ["red"] * 995 + ["blue"] * 4 + ["?"], "size": ["1"] * 1000})
    spec = {
        "raw_columns": ["colour", "size"],
        "numeric_columns": ["size"],
        "missing_values": ["?"],
        "target": "y",
    }
    baseline = build_baseline(frame, [0.05, 0.95], spec)
    colour = baseline["features"]["colour"]
    assert colour["categories"] == ["red"]  # blue holds 0.4 %: below 0.5 %
    assert colour["proportions"] == pytest.approx([995 / 999, 4 / 999], abs=1e-8)  # stored to 8 places
    assert colour["missing_rate"] == pytest.approx(0.001)
    assert baseline["features"]["size"]["edges"] == [1.0]
    assert baseline["score"]["proportions"] == [0.5] + [0.0] * 8 + [0.5]


def test_the_evaluate_step_bins_scores_as_the_drift_package_does() -> None:
    from ml.steps.evaluate import score_baseline as evaluate_bins

    scores = np.array([0.0, 0.1, 0.1000001, 0.5, 0.95, 1.0, 0.3, 0.2])
    assert evaluate_bins(scores) == score_baseline(scores)
