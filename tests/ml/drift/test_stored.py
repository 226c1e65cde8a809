from __future__ import annotations

import json
from pathlib import Path

import pytest

from ml.drift.stored import capture_files, join

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


def test_capture_files_skip_hours_before_the_cutoff_and_odd_folders(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    endpoint = tmp_path / "mlops-production"
    for hour in ("2026/12/07/15", "2026/12/07/17", "2026/13/07/17"):
        (endpoint / "AllTraffic" / hour).mkdir(parents=True)
        (endpoint / "AllTraffic" / hour / "a.jsonl").write_text("{}\n")
    cutoff = datetime(2026, 12, 7, 16, 30, tzinfo=UTC)
    assert [p.parts[-5:-1] for p in capture_files(endpoint, cutoff)] == [("2026", "12", "07", "17")]
    assert len(list(capture_files(endpoint, None))) == 2  # month 13 is no hour
    assert list(capture_files(tmp_path / "absent", None)) == []
