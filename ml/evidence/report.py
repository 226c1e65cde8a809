"""The facts a version's evaluation report and its run's preprocess output hold, read once.

``evaluation.json`` (``ml.steps.evaluate``) gives the confusion matrix and the test rows;
``baseline/statistics.json`` (``ml.steps.preprocess``) the data set's sha256 and the training rows. Both
platforms keep them beside each other: the local registry in the version's folder, SageMaker under the
run's ``<execution>/<step>/<output>`` prefixes. :func:`join` makes one ``evidence`` document of them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Confusion", "EvaluationFacts", "facts", "join"]


@dataclass(frozen=True)
class Confusion:
    """Counts of the test split: rows are the true class, columns the predicted one."""

    tn: int
    fp: int
    fn: int
    tp: int

    @property
    def total(self) -> int:
        return self.tn + self.fp + self.fn + self.tp

    def to_dict(self) -> dict[str, int]:
        return {"tn": self.tn, "fp": self.fp, "fn": self.fn, "tp": self.tp}


@dataclass(frozen=True)
class EvaluationFacts:
    confusion: Confusion | None = None
    test_rows: int | None = None
    train_rows: int | None = None
    dataset_sha256: str = ""
    threshold: float | None = None


def _json(raw: bytes | str | None) -> Mapping[str, Any] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, Mapping) else None


def join(evaluation_json: bytes | str | None, statistics_json: bytes | str | None) -> dict[str, Any] | None:
    """The evaluation report with ``data`` from the preprocess statistics; None without a report."""
    report = _json(evaluation_json)
    if report is None:
        return None
    out = dict(report)
    statistics = _json(statistics_json)
    if statistics is not None:
        out["data"] = {
            "dataset_sha256": str(statistics.get("dataset_sha256", "")),
            "train_rows": statistics.get("rows"),
        }
    return out


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _confusion(metrics: Mapping[str, Any]) -> Confusion | None:
    matrix = metrics.get("confusion_matrix")
    if not isinstance(matrix, Mapping):
        return None
    negative, positive = matrix.get("0"), matrix.get("1")
    if not isinstance(negative, Mapping) or not isinstance(positive, Mapping):
        return None
    cells = [
        _count(negative.get("0")),
        _count(negative.get("1")),
        _count(positive.get("0")),
        _count(positive.get("1")),
    ]
    if any(c is None for c in cells):
        return None
    tn, fp, fn, tp = (int(c or 0) for c in cells)
    return Confusion(tn, fp, fn, tp)


def facts(report: Mapping[str, Any] | None) -> EvaluationFacts:
    """What :func:`join`'s document says; anything missing or malformed is left out, never guessed."""
    if report is None:
        return EvaluationFacts()
    metrics = report.get("classification_metrics")
    data = report.get("data")
    data = data if isinstance(data, Mapping) else {}
    threshold = report.get("threshold")
    return EvaluationFacts(
        confusion=_confusion(metrics) if isinstance(metrics, Mapping) else None,
        test_rows=_count(report.get("rows")),
        train_rows=_count(data.get("train_rows")),
        dataset_sha256=str(data.get("dataset_sha256") or ""),
        threshold=float(threshold) if isinstance(threshold, int | float) else None,
    )
