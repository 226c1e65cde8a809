"""PreprocessData step: clean a labelled CSV, encode it and split it 70/15/15.

Outputs (the layout SageMaker's XGBoost reads and the rest of the pipeline expects)::

    output_dir/train/train.csv            target first, no header, fully numeric
    output_dir/validation/validation.csv
    output_dir/test/test.csv
    output_dir/baseline/statistics.json   raw-feature statistics of the training split; drift.json: its bins
    output_dir/features/features.json     how to turn a raw row into the model's feature vector

Cleaning: missing values are the tokens in ``MISSING_VALUES`` (``?`` in Adult) and empty fields. A missing
categorical becomes its own category, ``Unknown`` (in Adult a missing workclass or occupation mostly means no
job, so dropping those 7 % of rows would bias the data); a missing numeric takes the training split's median,
recorded in features.json so serving does the same; rows without a label are dropped. Categories are learnt
from the training split only, at most ``MAX_CATEGORIES`` per column; any other value encodes as all zeros.

Error messages name the rule a file breaks, never what it holds (no values, column names or listings):
they are shown to whoever started the run, and the file need not be theirs. Python 3.8 compatible. Runs
locally (``run``) and in SageMaker Processing (paths under ``/opt/ml/processing``; ml.drift from ``--deps``).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

#: ``ml.datasets.ADULT_COLUMNS`` again: this script runs alone in the processing container.
_ADULT_HEADER = (
    "age workclass fnlwgt education education-num marital-status occupation relationship race sex "
    "capital-gain capital-loss hours-per-week native-country income"
)
ADULT_COLUMNS = tuple(_ADULT_HEADER.split())
ADULT_TARGET = "income"
ADULT_POSITIVE_LABEL = ">50K"
_ADULT_LABELS = (">50K", "<=50K")

MISSING_VALUES = ("", "?", "NA", "N/A", "NaN", "nan", "null", "NULL")
MISSING_CATEGORY = "Unknown"
MAX_CATEGORIES = 100
#: per class: below this a stratified 70/15/15 split leaves some split without that class
MIN_ROWS_PER_CLASS = 10
SPLIT_FRACTIONS = (0.70, 0.15, 0.15)
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
FEATURES_FORMAT_VERSION = 1

_DEFAULT_INPUT = "/opt/ml/processing/input"
_DEFAULT_OUTPUT = "/opt/ml/processing"
NO_BASELINE = "preprocess: no drift baseline (ml.drift is not importable: upload-code ships it for --deps)"


def run(
    input_path: Path,
    output_dir: Path,
    target: str = "income",
    positive_label: str | None = None,
    seed: int = 42,
) -> dict[str, Any]:
    """Preprocess ``input_path`` into ``output_dir``; returns a summary (row counts, label rate, hash)."""
    path = resolve_input(Path(input_path))
    raw_bytes = _read_bytes(path)
    if not raw_bytes.strip():
        raise ValueError("the input file is empty")
    adult = _is_adult(raw_bytes)
    frame = _read_frame(path, adult)
    target = target.strip()
    if target not in frame.columns:
        raise ValueError(
            f"target column {target!r} is not a column of the input file "
            f"({len(frame.columns)} columns): name the column that holds the label"
        )
    if adult:
        frame[target] = frame[target].str.rstrip(".")

    missing_label = frame[target].isin(MISSING_VALUES)
    dropped = int(missing_label.sum())
    frame = frame.loc[~missing_label].reset_index(drop=True)
    if frame.empty:
        raise ValueError(f"{path.name} has no rows with a {target!r} label")
    positive, negative = _choose_labels(frame[target], target, positive_label, adult)
    labels = (frame[target] == positive).to_numpy(dtype=np.int64)
    features = frame.drop(columns=[target])
    if features.shape[1] == 0:
        raise ValueError(f"{path.name} has no feature columns besides the target {target!r}")

    train_idx, validation_idx, test_idx = _split(labels, seed, positive, negative)
    train_raw = features.iloc[train_idx]
    spec = build_feature_spec(train_raw, target, positive, negative, source="adult" if adult else "csv")

    out = Path(output_dir)
    for name, idx in (("train", train_idx), ("validation", validation_idx), ("test", test_idx)):
        _write_split(out / name / f"{name}.csv", labels[idx], encode(features.iloc[idx], spec))
    digest = hashlib.sha256(raw_bytes).hexdigest()
    statistics = baseline_statistics(train_raw, spec, labels[train_idx], digest)
    _write_json(out / "baseline" / "statistics.json", statistics)
    try:  # ml.drift comes with the package, or from --deps in a processing container
        from ml.drift.baseline import build_baseline

        _write_json(out / "baseline" / "drift.json", build_baseline(train_raw, None, spec))
    except ImportError:  # Registry.baseline then answers None for the version
        print(NO_BASELINE, file=sys.stderr)
    _write_json(out / "features" / "features.json", spec)
    return {
        "input": str(path),
        "source": spec["source"],
        "target": target,
        "positive_label": positive,
        "rows": len(labels),
        "dropped_rows": dropped,
        "train_rows": len(train_idx),
        "validation_rows": len(validation_idx),
        "test_rows": len(test_idx),
        "raw_features": len(spec["raw_columns"]),
        "features": len(spec["feature_names"]),
        "positive_rate": round(float(labels.mean()), 6),
        "dataset_sha256": digest,
        "seed": seed,
    }


def resolve_input(path: Path) -> Path:
    """A file as is; a directory (a SageMaker input channel) must hold one data file, or ``adult.data``."""
    if path.is_file():
        return path
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        if len(files) == 1:
            return files[0]
        for preferred in ("adult.data.gz", "adult.data"):
            if (path / preferred).is_file():
                return path / preferred
        if not files:
            raise ValueError("the input directory holds no file")
        raise ValueError(f"the input directory holds {len(files)} files: name the one to use")
    raise ValueError("the input file does not exist")


def _read_bytes(path: Path) -> bytes:
    """The data bytes, decompressed: the hash then names the data, not how it was compressed."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise ValueError("the input file is not valid gzip") from exc
    return data


def _is_adult(data: bytes) -> bool:
    """Adult files have no header: the first data line is 15 fields ending with an income label."""
    for raw_line in data.splitlines():
        line = raw_line.decode("utf-8", errors="replace").strip()
        if not line or line.startswith("|"):
            continue
        fields = [f.strip() for f in line.split(",")]
        return (
            len(fields) == len(ADULT_COLUMNS)
            and fields[0].isdigit()
            and fields[-1].rstrip(".") in _ADULT_LABELS
        )
    return False


def _read_frame(path: Path, adult: bool) -> pd.DataFrame:
    options: dict[str, Any] = dict(
        dtype=str, keep_default_na=False, skipinitialspace=True, compression="infer"
    )
    try:
        if adult:
            # adult.test opens with a non-data line ("|1x3 Cross validator").
            frame = pd.read_csv(path, header=None, names=list(ADULT_COLUMNS), comment="|", **options)
        else:
            frame = pd.read_csv(path, **options)
    except pd.errors.EmptyDataError as exc:
        raise ValueError("the input file is empty") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError("the input file is not a readable UTF-8 CSV") from exc
    if not adult and any(str(c).startswith("Unnamed: ") for c in frame.columns):
        raise ValueError(
            f"{path.name} has a column without a name: CSV input needs a header row naming every column"
        )
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.fillna("")
    for column in frame.columns:
        frame[column] = frame[column].astype(str).str.strip()
    if frame.empty:
        raise ValueError("the input file has a header but no data rows")
    return frame


def _choose_labels(
    values: pd.Series, target: str, positive_label: str | None, adult: bool
) -> tuple[str, str]:
    classes = sorted(values.unique().tolist())
    if len(classes) != 2:
        raise ValueError(
            f"target column {target!r} must have exactly two classes for binary classification; "
            f"it has {len(classes)}"
        )
    if positive_label is not None:
        wanted = positive_label.strip()
        if wanted not in classes:
            raise ValueError(f"positive label {positive_label!r} is not a class of {target!r}")
        positive = wanted
    elif adult and ADULT_POSITIVE_LABEL in classes:
        positive = ADULT_POSITIVE_LABEL
    else:
        lowered = {c.lower(): c for c in classes}
        for negative_token, positive_token in (("0", "1"), ("0.0", "1.0"), ("false", "true")):
            if set(lowered) == {negative_token, positive_token}:
                positive = lowered[positive_token]
                break
        else:
            raise ValueError(f"cannot tell which class of {target!r} is positive: pass positive_label")
    negative = classes[0] if classes[1] == positive else classes[1]
    return positive, negative


def _split(labels: np.ndarray, seed: int, positive: str, negative: str) -> tuple[np.ndarray, ...]:
    counts = {positive: int(labels.sum()), negative: int(len(labels) - labels.sum())}
    for label, count in counts.items():
        if count < MIN_ROWS_PER_CLASS:
            which = "the positive" if label == positive else "the negative"
            raise ValueError(
                f"{which} class has {count} rows; a stratified 70/15/15 split needs at least "
                f"{MIN_ROWS_PER_CLASS} rows of each class"
            )
    indices = np.arange(len(labels))
    held_out = SPLIT_FRACTIONS[1] + SPLIT_FRACTIONS[2]
    train_idx, rest_idx = train_test_split(indices, test_size=held_out, stratify=labels, random_state=seed)
    validation_idx, test_idx = train_test_split(
        rest_idx, test_size=SPLIT_FRACTIONS[2] / held_out, stratify=labels[rest_idx], random_state=seed
    )
    return np.sort(train_idx), np.sort(validation_idx), np.sort(test_idx)


def _ranked(values: pd.Series) -> list[tuple[str, int]]:
    """Distinct values, most frequent first (ties by name), so kept categories do not depend on row order."""
    return sorted(
        ((str(k), int(v)) for k, v in values.value_counts().items()), key=lambda kv: (-kv[1], kv[0])
    )


def _numeric_columns(frame: pd.DataFrame) -> list[str]:
    numeric = []
    for column in frame.columns:
        present = frame[column][~frame[column].isin(MISSING_VALUES)]
        if present.empty or pd.isna(pd.to_numeric(present.iloc[:1], errors="coerce")).all():
            continue  # a text column: its first value settles it without parsing the rest
        parsed = pd.to_numeric(present, errors="coerce")
        if bool(parsed.notna().all()) and bool(np.isfinite(parsed.to_numpy(dtype=np.float64)).all()):
            numeric.append(column)
    return numeric


def build_feature_spec(
    train_raw: pd.DataFrame, target: str, positive: str, negative: str, source: str = "csv"
) -> dict[str, Any]:
    """The encoding, learnt from the training split only; serving applies exactly the same."""
    numeric = set(_numeric_columns(train_raw))
    raw_columns = [str(c) for c in train_raw.columns]
    numeric_fill: dict[str, float] = {}
    categories: dict[str, list[str]] = {}
    feature_names: list[str] = []
    for column in raw_columns:
        values = train_raw[column]
        if column in numeric:
            parsed = pd.to_numeric(values.where(~values.isin(MISSING_VALUES)), errors="coerce")
            median = parsed.median()
            numeric_fill[column] = float(median) if pd.notna(median) else 0.0
            feature_names.append(column)
        else:
            filled = values.where(~values.isin(MISSING_VALUES), MISSING_CATEGORY)
            kept = sorted(name for name, _ in _ranked(filled)[:MAX_CATEGORIES])
            categories[column] = kept
            feature_names.extend(f"{column}={category}" for category in kept)
    return {
        "format_version": FEATURES_FORMAT_VERSION,
        "source": source,
        "target": target,
        "positive_label": positive,
        "negative_label": negative,
        "raw_columns": raw_columns,
        "numeric_columns": [c for c in raw_columns if c in numeric],
        "numeric_fill": numeric_fill,
        "categorical_columns": categories,
        "missing_values": list(MISSING_VALUES),
        "missing_category": MISSING_CATEGORY,
        "feature_names": feature_names,
    }


def encode(raw: pd.DataFrame, spec: Mapping[str, Any]) -> np.ndarray:
    """Raw string columns -> the float matrix the model takes, in ``spec['feature_names']`` order."""
    missing_values = list(spec["missing_values"])
    blocks: list[np.ndarray] = []
    for index, column in enumerate(spec["raw_columns"], start=1):
        values = raw[column].astype(str).str.strip()
        missing = values.isin(missing_values)
        if column in spec["numeric_fill"]:
            parsed = pd.to_numeric(values.where(~missing), errors="coerce")
            bad = parsed.isna() & ~missing
            if bool(bad.any()):
                raise ValueError(f"feature column {index} is numeric but holds a value that is not a number")
            filled = parsed.fillna(spec["numeric_fill"][column]).to_numpy(dtype=np.float64)
            blocks.append(filled.reshape(-1, 1))
        else:
            known = np.asarray(spec["categorical_columns"][column], dtype=object)
            cells = values.where(~missing, spec["missing_category"]).to_numpy(dtype=object)
            blocks.append((cells[:, None] == known[None, :]).astype(np.float64))
    return np.hstack(blocks) if blocks else np.zeros((len(raw), 0))


def baseline_statistics(
    train_raw: pd.DataFrame, spec: Mapping[str, Any], train_labels: np.ndarray, dataset_sha256: str
) -> dict[str, Any]:
    """Per raw feature statistics of the training split, the reference for later drift checks."""
    features: dict[str, Any] = {}
    for column in spec["raw_columns"]:
        values = train_raw[column]
        missing = values.isin(MISSING_VALUES)
        present = values[~missing]
        entry: dict[str, Any] = {"count": len(present), "missing": int(missing.sum())}
        if column in spec["numeric_fill"]:
            numbers = pd.to_numeric(present, errors="coerce").to_numpy(dtype=np.float64)
            entry["type"] = "numeric"
            if len(numbers):
                quantiles = np.quantile(numbers, QUANTILES)
                entry.update(
                    mean=float(numbers.mean()),
                    std=float(numbers.std(ddof=1)) if len(numbers) > 1 else 0.0,
                    min=float(numbers.min()),
                    max=float(numbers.max()),
                    quantiles={
                        f"p{round(q * 100):02d}": float(quantiles[i]) for i, q in enumerate(QUANTILES)
                    },
                )
        else:
            total = max(len(present), 1)
            ranked = _ranked(present)
            frequencies = {k: round(v / total, 6) for k, v in ranked[:MAX_CATEGORIES]}
            other = sum(v for _, v in ranked[MAX_CATEGORIES:])
            if other:
                frequencies["__other__"] = round(other / total, 6)
            entry.update(type="categorical", distinct=len(ranked), frequencies=frequencies)
        features[column] = entry
    rate = round(float(train_labels.mean()), 6) if len(train_labels) else 0.0
    return {
        "format_version": 1,
        "dataset_sha256": dataset_sha256,
        "rows": len(train_raw),
        "label": {"name": spec["target"], "positive_label": spec["positive_label"], "positive_rate": rate},
        "features": features,
    }


def _write_split(path: Path, labels: np.ndarray, matrix: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = np.column_stack([labels.astype(np.float64), matrix])
    np.savetxt(path, table, delimiter=",", fmt="%.10g")


def _write_json(path: Path, payload: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n", encoding="utf-8")


# Each step script runs alone in its container, so this entry point's shape repeats evaluate.py's.
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Clean, encode and split a labelled CSV (70/15/15).")
    parser.add_argument("--input", default=os.environ.get("MLOPS_PREPROCESS_INPUT", _DEFAULT_INPUT))
    parser.add_argument("--output-dir", default=_DEFAULT_OUTPUT)
    parser.add_argument("--target", default=ADULT_TARGET)
    parser.add_argument("--positive-label", default=None)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--deps", default=None, help="folder holding the ml package (for the drift baseline)")
    args = parser.parse_args(argv)
    if args.deps:  # first, so that the shipped modules are the ones imported
        sys.path.insert(0, args.deps)
    try:
        summary = run(Path(args.input), Path(args.output_dir), args.target, args.positive_label, args.seed)
    except ValueError as exc:
        print(f"preprocess failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
