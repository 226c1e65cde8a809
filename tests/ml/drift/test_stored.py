from __future__ import annotations

import json

import pytest

from ml.drift.stored import join

DRIFT = {"format_version": 1, "features": {"age": {}}, "score": None}
SCORES = {"edges": [0.5], "proportions": [0.5, 0.5], "rows": 2}


def test_the_evaluation_report_supplies_the_score_part() -> None:
    evaluation = json.dumps({"classification_metrics": {}, "score_baseline": SCORES})
    assert join(json.dumps(DRIFT), evaluation)["score"] == SCORES


def test_without_a_readable_report_the_score_part_stays_empty() -> None:
    assert join(json.dumps(DRIFT), None)["score"] is None
    assert join(json.dumps(DRIFT), "{not json")["score"] is None
    assert join(json.dumps(DRIFT), json.dumps({"classification_metrics": {}}))["score"] is None


def test_a_file_that_is_not_a_baseline_is_refused() -> None:
    with pytest.raises(ValueError, match="not a drift baseline"):
        join(json.dumps([1, 2]), None)
