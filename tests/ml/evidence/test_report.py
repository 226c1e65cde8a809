"""The evaluation report joined with the preprocess statistics, and the facts read from it."""

from __future__ import annotations

import json

from ml.evidence.report import Confusion, facts, join

REPORT = {
    "classification_metrics": {
        "accuracy": {"value": 0.87, "standard_deviation": 0.004},
        "confusion_matrix": {"0": {"0": 50, "1": 5}, "1": {"0": 7, "1": 38}},
    },
    "threshold": 0.5,
    "rows": 100,
}
STATISTICS = {"dataset_sha256": "ab" * 32, "rows": 466, "features": {}}


def test_the_report_and_the_statistics_make_one_document() -> None:
    doc = join(json.dumps(REPORT), json.dumps(STATISTICS).encode())
    assert doc is not None and doc["data"] == {"dataset_sha256": "ab" * 32, "train_rows": 466}
    found = facts(doc)
    assert found.confusion == Confusion(tn=50, fp=5, fn=7, tp=38) and found.confusion.total == 100
    assert (found.test_rows, found.train_rows, found.dataset_sha256) == (100, 466, "ab" * 32)


def test_missing_or_malformed_parts_are_left_out_never_guessed() -> None:
    assert join(None, json.dumps(STATISTICS)) is None
    assert join(b"not json", None) is None
    alone = join(json.dumps(REPORT), b"{broken")
    assert alone is not None and "data" not in alone and facts(alone).train_rows is None
    broken = {"classification_metrics": {"confusion_matrix": {"0": {"0": -1, "1": 5}, "1": {"0": 1, "1": 2}}}}
    assert facts(broken).confusion is None
    assert facts({"rows": True}).test_rows is None  # a boolean is no count
    assert facts(None).confusion is None
