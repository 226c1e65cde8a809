"""EvaluateModel step: score the held-out test split and write ``evaluation.json``.

The report follows SageMaker's model-quality metrics layout, so the pipeline's accuracy gate can read
``classification_metrics.accuracy.value`` with ``JsonGet`` and the registry can attach it as
``ModelQuality.Statistics``::

    {"classification_metrics": {
        "accuracy": {"value": 0.87, "standard_deviation": 0.004}, "precision": {...}, "recall": {...},
        "f1": {...}, "auc": {...},
        "confusion_matrix": {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}}}}

``score_baseline`` holds the distribution of the test split's scores over ten fixed bins on [0, 1], the
score part of the drift baseline (``ml.drift.baseline.score_baseline``; repeated here because this
script runs alone in its container).

Standard deviations are bootstrap estimates (fixed seed, ``BOOTSTRAP_ROUNDS`` resamples). As a SageMaker
Processing entry point the model arrives as ``/opt/ml/processing/model/model.tar.gz``, extracted here.
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

MODEL_FILE = "xgboost-model"
ARCHIVE_FILE = "model.tar.gz"
REPORT_FILE = "evaluation.json"
THRESHOLD = 0.5
BOOTSTRAP_ROUNDS = 200
BOOTSTRAP_SEED = 7

_DEFAULT_MODEL_DIR = "/opt/ml/processing/model"
_DEFAULT_TEST_DIR = "/opt/ml/processing/test"
_DEFAULT_OUTPUT_DIR = "/opt/ml/processing/evaluation"


def run(model_dir: Path, test_dir: Path, output_dir: Path) -> dict[str, Any]:
    """Evaluate ``model_dir/xgboost-model`` on ``test_dir/test.csv``; writes and returns the report."""
    model_path = find_model(Path(model_dir))
    booster = xgb.Booster()
    try:
        # From bytes: the extension-less file name would make xgboost warn while guessing the format.
        booster.load_model(bytearray(model_path.read_bytes()))
    except xgb.core.XGBoostError as exc:
        raise ValueError(f"{model_path} is not an XGBoost model: {exc}") from exc
    features, labels = _load_test(Path(test_dir))
    if booster.num_features() != features.shape[1]:
        raise ValueError(
            f"the model expects {booster.num_features()} features but the test data has {features.shape[1]}"
        )
    scores = np.asarray(booster.inplace_predict(features), dtype=np.float64)
    report = build_report(labels.astype(np.int64), scores)
    report["score_baseline"] = score_baseline(scores)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def score_baseline(scores: np.ndarray) -> dict[str, Any]:
    """Shares of ``scores`` in (-inf, 0.1], (0.1, 0.2], …, (0.9, inf), as ml.drift.baseline bins them."""
    edges = [round(q / 10, 1) for q in range(1, 10)]
    counts = np.bincount(np.searchsorted(edges, scores, side="left"), minlength=len(edges) + 1)
    shares = counts / counts.sum() if counts.sum() else counts.astype(np.float64)
    return {"edges": edges, "proportions": [round(float(v), 8) for v in shares], "rows": len(scores)}


def find_model(model_dir: Path) -> Path:
    """``xgboost-model`` in ``model_dir``, extracting ``model.tar.gz`` first when that is what arrived."""
    model_path = model_dir / MODEL_FILE
    if model_path.is_file():
        return model_path
    archive = model_dir / ARCHIVE_FILE
    if archive.is_file():
        _extract(archive, model_dir)
        if model_path.is_file():
            return model_path
        raise ValueError(f"{archive} holds no {MODEL_FILE}")
    raise ValueError(f"no {MODEL_FILE} or {ARCHIVE_FILE} in {model_dir}")


def _extract(archive: Path, destination: Path) -> None:
    root = destination.resolve()
    with tarfile.open(archive, "r:gz") as tar:
        members = tar.getmembers()
        for member in members:
            target = (root / member.name).resolve()
            if root != target and root not in target.parents:
                raise ValueError(f"{archive} has a member outside the archive root: {member.name!r}")
            if not (member.isfile() or member.isdir()):
                raise ValueError(f"{archive} has a link or special file: {member.name!r}")
        if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4 (and security backports)
            tar.extractall(root, members=members, filter="data")
        else:
            tar.extractall(root, members=members)  # noqa: S202 - every member was checked above


# train.py reads its splits the same way: each step script runs alone in its container.
def _load_test(test_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    path = test_dir / "test.csv"
    if not path.is_file():
        candidates = sorted(test_dir.glob("*.csv")) if test_dir.is_dir() else []
        if len(candidates) != 1:
            raise ValueError(f"no test.csv in {test_dir}")
        path = candidates[0]
    try:
        table = pd.read_csv(path, header=None, dtype=np.float64).to_numpy()
    except pd.errors.EmptyDataError as exc:
        raise ValueError(f"{path} is empty") from exc
    except ValueError as exc:
        raise ValueError(f"{path} must be all numeric with the target first and no header: {exc}") from exc
    labels = table[:, 0]
    if table.shape[0] == 0 or not np.isin(labels, (0.0, 1.0)).all():
        raise ValueError(f"{path}: the first column must be the 0/1 target")
    if len(np.unique(labels)) != 2:
        raise ValueError(f"{path} holds a single class: AUC needs both")
    return table[:, 1:], labels


def _metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    predicted = (scores >= THRESHOLD).astype(np.int64)
    return {
        "accuracy": float(accuracy_score(labels, predicted)),
        "precision": float(precision_score(labels, predicted, zero_division=0)),
        "recall": float(recall_score(labels, predicted, zero_division=0)),
        "f1": float(f1_score(labels, predicted, zero_division=0)),
        "auc": float(roc_auc_score(labels, scores)),
    }


def _fast_metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """The same five metrics in plain numpy: scikit-learn's input checks dominate 200 bootstrap rounds."""
    predicted = scores >= THRESHOLD
    positive = labels == 1
    tp = float(np.sum(predicted & positive))
    fp = float(np.sum(predicted & ~positive))
    fn = float(np.sum(~predicted & positive))
    n_pos = float(positive.sum())
    n_neg = float(len(labels)) - n_pos
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    # AUC as the Mann-Whitney statistic, ties given their average rank (as roc_auc_score does).
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    average_rank = np.cumsum(counts) - (counts - 1) / 2.0
    rank_sum = float(average_rank[inverse][positive].sum())
    return {
        "accuracy": float(np.mean(predicted == positive)),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "auc": (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg),
    }


def _bootstrap_std(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    samples: dict[str, list[float]] = {}
    n = len(labels)
    for _ in range(BOOTSTRAP_ROUNDS):
        idx = rng.integers(0, n, size=n)
        if labels[idx].min() == labels[idx].max():
            continue  # a one-class resample has no AUC
        for name, value in _fast_metrics(labels[idx], scores[idx]).items():
            samples.setdefault(name, []).append(value)
    return {
        name: float(np.std(values, ddof=1)) if len(values) > 1 else 0.0 for name, values in samples.items()
    }


def build_report(labels: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    point = _metrics(labels, scores)
    spread = _bootstrap_std(labels, scores)
    predicted = (scores >= THRESHOLD).astype(np.int64)
    tn, fp, fn, tp = (int(v) for v in confusion_matrix(labels, predicted, labels=[0, 1]).ravel())
    metrics: dict[str, Any] = {
        name: {"value": round(value, 6), "standard_deviation": round(spread.get(name, 0.0), 6)}
        for name, value in point.items()
    }
    metrics["confusion_matrix"] = {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}}
    return {
        "classification_metrics": metrics,
        "threshold": THRESHOLD,
        "rows": len(labels),
        "positive_rate": round(float(labels.mean()), 6),
    }


# Each step script runs alone in its container, so this entry point's shape repeats preprocess.py's.
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Evaluate an XGBoost model on the test split.")
    parser.add_argument("--model-dir", default=_DEFAULT_MODEL_DIR)
    parser.add_argument("--test-dir", default=_DEFAULT_TEST_DIR)
    parser.add_argument("--output-dir", default=_DEFAULT_OUTPUT_DIR)
    args = parser.parse_args(argv)
    try:
        report = run(Path(args.model_dir), Path(args.test_dir), Path(args.output_dir))
    except ValueError as exc:
        print(f"evaluation failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
