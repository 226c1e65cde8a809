"""Compare current rows (and scores) with a baseline: PSI per raw feature and for the score."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ml.drift import arrow
from ml.drift.baseline import (
    FORMAT_VERSION,
    OTHER,
    categorical_proportions,
    numeric_labels,
    numeric_proportions,
)
from ml.drift.psi import psi

Status = Literal["ok", "warn", "drift"]
_RANK: dict[str, int] = {"ok": 0, "warn": 1, "drift": 2}


@dataclass(frozen=True)
class DriftThresholds:
    """PSI below ``warn`` is ok; from ``warn`` to ``drift`` inclusive a warning; above ``drift`` drift."""

    warn: float = 0.1
    drift: float = 0.25

    def status(self, value: float) -> Status:
        if value < self.warn:
            return "ok"
        return "warn" if value <= self.drift else "drift"


@dataclass(frozen=True)
class FeatureDrift:
    name: str
    kind: Literal["numeric", "categorical", "score"]
    psi: float
    status: Status
    baseline_missing_rate: float
    current_missing_rate: float
    #: share of present values outside the categories kept at training time (categorical only)
    unseen_share: float
    #: (label, expected proportion, actual proportion) per bin, in bin order
    bins: tuple[tuple[str, float, float], ...]
    #: present values compared
    count: int


@dataclass(frozen=True)
class DriftReport:
    features: list[FeatureDrift]
    score: FeatureDrift | None
    rows: int
    skipped: int
    window: tuple[str, str] | None
    status: Status

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "rows": self.rows,
            "skipped": self.skipped,
            "window": None if self.window is None else {"start": self.window[0], "end": self.window[1]},
            "features": [_feature_dict(f) for f in self.features],
            "score": None if self.score is None else _feature_dict(self.score),
        }


def _feature_dict(feature: FeatureDrift) -> dict[str, Any]:
    doc = asdict(feature)
    doc["bins"] = [{"bin": label, "expected": e, "actual": a} for label, e, a in feature.bins]
    return doc


def check(
    baseline: Mapping[str, Any],
    rows: pd.DataFrame,
    scores: Sequence[float] | np.ndarray | None = None,
    thresholds: DriftThresholds | None = None,
    *,
    skipped: int = 0,
    window: tuple[str, str] | None = None,
) -> DriftReport:
    """PSI of each baseline feature over ``rows`` (raw string columns), and of ``scores`` if given."""
    limits = thresholds or DriftThresholds()
    if baseline.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"drift baseline format {baseline.get('format_version')!r} is not {FORMAT_VERSION}")
    missing_values = list(baseline["missing_values"])
    trimmed = bool(rows.attrs.get(arrow.TRIMMED))  # a frame read by ``arrow.frame``: trimmed already
    features: list[FeatureDrift] = []
    for name, entry in baseline["features"].items():
        if name not in rows.columns:
            raise ValueError(f"the rows have no column {name!r}, a feature of the baseline")
        features.append(_feature(name, entry, rows[name], missing_values, limits, trimmed))
    score = None
    if scores is not None and baseline.get("score") and len(scores):
        score = _score(baseline["score"], np.asarray(scores, dtype=np.float64), limits)
    parts = [*features, *([score] if score else [])]
    status: Status = max((f.status for f in parts), key=_RANK.__getitem__, default="ok")
    return DriftReport(features, score, len(rows), skipped, window, status)


def _feature(
    name: str,
    entry: Mapping[str, Any],
    column: pd.Series,
    missing_values: list[str],
    limits: DriftThresholds,
    trimmed: bool = False,
) -> FeatureDrift:
    strings = isinstance(column.dtype, pd.StringDtype | pd.ArrowDtype)  # else as text first
    values = column if strings and trimmed else (column if strings else column.astype(str)).str.strip()
    missing = values.isin(missing_values)
    present = values[~missing]
    expected = np.asarray(entry["proportions"], dtype=np.float64)
    unseen = 0.0
    if entry["kind"] == "numeric":
        numbers = _numbers(present)
        # A value that is not a number cannot be binned: it counts as missing.
        missing_count = len(values) - len(numbers)
        actual = numeric_proportions(numbers, entry["edges"])
        labels = numeric_labels(entry["edges"])
        count = len(numbers)
    else:
        categories = list(entry["categories"])
        actual = categorical_proportions(present, categories)
        labels = [*categories, OTHER]
        missing_count = int(missing.sum())
        count = len(present)
        unseen = float(actual[-1]) if count else 0.0
    value = psi(expected, actual)
    return FeatureDrift(
        name=name,
        kind=entry["kind"],
        psi=value,
        status=limits.status(value),
        baseline_missing_rate=float(entry["missing_rate"]),
        current_missing_rate=round(missing_count / len(values), 6) if len(values) else 0.0,
        unseen_share=round(unseen, 6),
        bins=tuple(zip(labels, (float(e) for e in expected), (float(a) for a in actual), strict=True)),
        count=count,
    )


def _numbers(present: pd.Series) -> np.ndarray:
    """The values as floats, those that are not numbers left out."""
    numbers = arrow.floats(present)
    if numbers is None:
        try:  # every value a number, as nearly always: numpy's parser is several times pandas' coercion
            numbers = present.to_numpy(dtype=object).astype(np.float64)
        except (ValueError, TypeError):
            numbers = np.asarray(pd.to_numeric(present, errors="coerce"), dtype=np.float64)
    kept: np.ndarray = numbers[~np.isnan(numbers)]
    return kept


def _score(entry: Mapping[str, Any], scores: np.ndarray, limits: DriftThresholds) -> FeatureDrift:
    expected = np.asarray(entry["proportions"], dtype=np.float64)
    actual = numeric_proportions(scores, entry["edges"])
    value = psi(expected, actual)
    return FeatureDrift(
        name="score",
        kind="score",
        psi=value,
        status=limits.status(value),
        baseline_missing_rate=0.0,
        current_missing_rate=0.0,
        unseen_share=0.0,
        bins=tuple(
            zip(
                numeric_labels(entry["edges"]),
                (float(e) for e in expected),
                (float(a) for a in actual),
                strict=True,
            )
        ),
        count=len(scores),
    )
