"""The drift baseline: binned distributions of the training split's raw features and of model scores.

Written by the preprocess step as ``baseline/drift.json`` beside ``baseline/statistics.json`` (raw
features of the training split), with the score part added by the evaluate step into
``evaluation.json`` under ``score_baseline`` (scores of the held-out test split: the only split the
evaluate step scores). ``ml.drift.stored.join`` joins the two. Layout (``format_version`` 1)::

    {"format_version": 1, "rows": 22792, "target": "income", "missing_values": ["", "?", ...],
     "features": {
        "age": {"kind": "numeric", "edges": [22.0, 26.0, ...], "proportions": [...],
                "missing_rate": 0.0},
        "workclass": {"kind": "categorical", "categories": ["Private", ...],
                      "proportions": [..., other], "missing_rate": 0.056}},
     "score": {"edges": [0.1, ..., 0.9], "proportions": [...10], "rows": 4885} | null}

Numeric bins: the unique interior deciles e1 < … < ek of the present training values give the bins
(-inf, e1], (e1, e2], …, (ek, inf). Categorical bins: the categories holding at least
``MIN_CATEGORY_SHARE`` of present values, at most the ``MAX_CATEGORIES`` most frequent, then
``__other__`` for everything else (so a value never seen in training lands there). Proportions are over
present values; the missing rate is kept apart. Scores use ten fixed bins on [0, 1].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

FORMAT_VERSION = 1
OTHER = "__other__"
DECILES = tuple(round(q / 10, 1) for q in range(1, 10))
MIN_CATEGORY_SHARE = 0.005
MAX_CATEGORIES = 50
SCORE_EDGES = tuple(round(q / 10, 1) for q in range(1, 10))


def build_baseline(
    train_raw: pd.DataFrame,
    scores: Sequence[float] | np.ndarray | None,
    spec: Mapping[str, Any],
) -> dict[str, Any]:
    """The baseline of ``train_raw`` (raw string columns) under the feature ``spec`` of preprocess."""
    missing_values = list(spec["missing_values"])
    numeric = set(spec["numeric_columns"])
    features: dict[str, Any] = {}
    for column in spec["raw_columns"]:
        values = train_raw[column].astype(str).str.strip()
        missing = values.isin(missing_values)
        rate = float(missing.mean()) if len(values) else 0.0
        present = values[~missing]
        if column in numeric:
            numbers = pd.to_numeric(present, errors="coerce").dropna().to_numpy(dtype=np.float64)
            edges = numeric_edges(numbers)
            features[column] = {
                "kind": "numeric",
                "edges": edges,
                "proportions": _rounded(numeric_proportions(numbers, edges)),
                "missing_rate": round(rate, 6),
            }
        else:
            categories = kept_categories(present)
            features[column] = {
                "kind": "categorical",
                "categories": categories,
                "proportions": _rounded(categorical_proportions(present, categories)),
                "missing_rate": round(rate, 6),
            }
    return {
        "format_version": FORMAT_VERSION,
        "rows": len(train_raw),
        "target": spec.get("target"),
        "missing_values": missing_values,
        "features": features,
        "score": None if scores is None else score_baseline(scores),
    }


def score_baseline(scores: Sequence[float] | np.ndarray) -> dict[str, Any]:
    """The score distribution over ten fixed bins on [0, 1]."""
    values = np.asarray(scores, dtype=np.float64)
    return {
        "edges": list(SCORE_EDGES),
        "proportions": _rounded(numeric_proportions(values, list(SCORE_EDGES))),
        "rows": len(values),
    }


def numeric_edges(numbers: np.ndarray) -> list[float]:
    if len(numbers) == 0:
        return []
    return [float(e) for e in np.unique(np.quantile(numbers, DECILES))]


def numeric_proportions(numbers: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """Share of ``numbers`` in each of (-inf, e1], (e1, e2], …, (ek, inf)."""
    # side="left": the first edge >= x, so x == e_i falls in the bin closed at e_i.
    index = np.searchsorted(np.asarray(edges, dtype=np.float64), numbers, side="left")
    counts = np.bincount(index, minlength=len(edges) + 1).astype(np.float64)
    return counts / counts.sum() if counts.sum() else counts


def numeric_labels(edges: Sequence[float]) -> list[str]:
    bounds = ["-inf", *(f"{e:g}" for e in edges), "inf"]
    return [
        f"({bounds[i]}, {bounds[i + 1]}]" if i < len(edges) else f"({bounds[i]}, inf)"
        for i in range(len(edges) + 1)
    ]


def kept_categories(present: pd.Series) -> list[str]:
    """Categories with at least ``MIN_CATEGORY_SHARE`` of present values, the most frequent first."""
    if present.empty:
        return []
    counts = present.value_counts()
    ranked = sorted(((str(k), int(v)) for k, v in counts.items()), key=lambda kv: (-kv[1], kv[0]))
    total = len(present)
    return [name for name, count in ranked[:MAX_CATEGORIES] if count / total >= MIN_CATEGORY_SHARE]


def categorical_proportions(present: pd.Series, categories: Sequence[str]) -> np.ndarray:
    """Share of each kept category, then of ``__other__``, among present values."""
    counts = present.value_counts()
    kept = np.array([float(counts.get(c, 0)) for c in categories] + [0.0])
    kept[-1] = float(len(present)) - kept[:-1].sum()
    return kept / len(present) if len(present) else kept


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 8) for v in values]
