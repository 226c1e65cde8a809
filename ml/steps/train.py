"""TrainModel step: XGBoost ``binary:logistic`` on the preprocessed CSVs.

Reads ``train.csv`` / ``validation.csv`` (target first, no header) and writes the booster in XGBoost's
JSON model format as ``model_dir/xgboost-model``, the file name SageMaker's XGBoost container loads.

As a SageMaker Training entry point (script mode) the data comes from ``SM_CHANNEL_TRAIN`` /
``SM_CHANNEL_VALIDATION``, the model goes to ``SM_MODEL_DIR`` and hyperparameters arrive as
``--num_round 100`` style arguments (or the ``SM_HPS`` JSON). ``features.json`` goes into the model
archive beside ``xgboost-model``: the registered model serves in script mode, where ``ml/inference.py``'s
``model_fn`` reads both (algorithm mode, which would try every file as a booster, is not used).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import numpy as np

# numpy, pandas and xgboost are imported where they are used: the hyperparameter specs
# below are read by the bot's command validation, which must answer within Slack's 3 s.

MODEL_FILE = "xgboost-model"
FEATURES_FILE = "features.json"
SEED = 42


class HyperparameterSpec(NamedTuple):
    """Type and inclusive bounds of one hyperparameter."""

    type: type[int] | type[float]
    minimum: float
    maximum: float


DEFAULT_HYPERPARAMETERS: dict[str, int | float] = {
    "num_round": 100,
    "max_depth": 5,
    "eta": 0.2,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "min_child_weight": 1.0,
    "gamma": 0.0,
    "lambda": 1.0,
    "alpha": 0.0,
}

HYPERPARAMETER_TYPES: dict[str, HyperparameterSpec] = {
    "num_round": HyperparameterSpec(int, 1, 2000),
    "max_depth": HyperparameterSpec(int, 1, 16),
    "eta": HyperparameterSpec(float, 0.001, 1.0),
    "subsample": HyperparameterSpec(float, 0.1, 1.0),
    "colsample_bytree": HyperparameterSpec(float, 0.1, 1.0),
    "min_child_weight": HyperparameterSpec(float, 0.0, 100.0),
    "gamma": HyperparameterSpec(float, 0.0, 100.0),
    "lambda": HyperparameterSpec(float, 0.0, 1000.0),
    "alpha": HyperparameterSpec(float, 0.0, 1000.0),
}

HYPERPARAMETER_DESCRIPTIONS: dict[str, str] = {
    "num_round": "boosting rounds (trees)",
    "max_depth": "maximum depth of a tree",
    "eta": "learning rate",
    "subsample": "fraction of rows sampled per tree",
    "colsample_bytree": "fraction of features sampled per tree",
    "min_child_weight": "minimum hessian sum in a leaf",
    "gamma": "minimum loss reduction to split",
    "lambda": "L2 regularisation",
    "alpha": "L1 regularisation",
}


def validate_hyperparameters(values: Mapping[str, object] | None) -> dict[str, int | float]:
    """Defaults overridden by ``values`` (numbers or numeric strings); ValueError names the bad one."""
    result: dict[str, int | float] = dict(DEFAULT_HYPERPARAMETERS)
    for name, raw in (values or {}).items():
        spec = HYPERPARAMETER_TYPES.get(name)
        if spec is None:
            valid = ", ".join(sorted(HYPERPARAMETER_TYPES))
            raise ValueError(f"unknown hyperparameter {name!r}; valid ones are: {valid}")
        result[name] = _coerce(name, raw, spec)
    return result


def _coerce(name: str, raw: object, spec: HyperparameterSpec) -> int | float:
    kind = "an integer" if spec.type is int else "a number"
    if isinstance(raw, bool):
        raise ValueError(f"hyperparameter {name!r} must be {kind}, not {raw!r}")
    number: float
    if isinstance(raw, (int, float)):
        number = float(raw)
    elif isinstance(raw, str):
        try:
            number = float(raw.strip())
        except ValueError:
            raise ValueError(f"hyperparameter {name!r} must be {kind}, not {raw!r}") from None
    else:
        raise ValueError(f"hyperparameter {name!r} must be {kind}, not {type(raw).__name__}")
    if not math.isfinite(number):
        raise ValueError(f"hyperparameter {name!r} must be a finite number, not {raw!r}")
    if spec.type is int and not number.is_integer():
        raise ValueError(f"hyperparameter {name!r} must be an integer, not {raw!r}")
    if not spec.minimum <= number <= spec.maximum:
        raise ValueError(
            f"hyperparameter {name!r} must be between {_fmt(spec.minimum)} "
            f"and {_fmt(spec.maximum)}, not {raw!r}"
        )
    return int(number) if spec.type is int else number


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def run(
    train_dir: Path,
    validation_dir: Path,
    model_dir: Path,
    hyperparameters: Mapping[str, float | int] | None = None,
    features_dir: Path | None = None,
    *,
    features_output_dir: Path | None = None,
    verbose: bool = False,
) -> dict[str, Any]:
    """Train and save the booster; returns the hyperparameters used and the final validation metrics.

    ``features_output_dir`` overrides where ``features.json`` is copied (default: ``model_dir``).
    """
    params = validate_hyperparameters(hyperparameters)
    x_train, y_train = load_split(Path(train_dir), "train")
    x_validation, y_validation = load_split(Path(validation_dir), "validation")
    if x_train.shape[1] != x_validation.shape[1]:
        raise ValueError(
            f"train has {x_train.shape[1]} features but validation has {x_validation.shape[1]}: "
            "they must come from the same preprocessing run"
        )
    features_file = _find_features(Path(train_dir), features_dir)
    if features_file is not None:
        names = json.loads(features_file.read_text(encoding="utf-8")).get("feature_names", [])
        if len(names) != x_train.shape[1]:
            raise ValueError(
                f"{features_file} lists {len(names)} features but the training data has {x_train.shape[1]}"
            )

    import xgboost as xgb

    dtrain = xgb.DMatrix(x_train, label=y_train)
    dvalidation = xgb.DMatrix(x_validation, label=y_validation)
    booster_params: dict[str, Any] = {
        "objective": "binary:logistic",
        "eval_metric": ["logloss", "auc"],
        "tree_method": "hist",
        "seed": SEED,
        "max_depth": params["max_depth"],
        "eta": params["eta"],
        "subsample": params["subsample"],
        "colsample_bytree": params["colsample_bytree"],
        "min_child_weight": params["min_child_weight"],
        "gamma": params["gamma"],
        "lambda": params["lambda"],
        "alpha": params["alpha"],
    }
    history: dict[str, Any] = {}
    booster = xgb.train(
        booster_params,
        dtrain,
        num_boost_round=int(params["num_round"]),
        evals=[(dtrain, "train"), (dvalidation, "validation")],
        evals_result=history,
        verbose_eval=verbose,
    )

    out = Path(model_dir)
    out.mkdir(parents=True, exist_ok=True)
    model_path = out / MODEL_FILE
    # JSON, written explicitly: the file name has no extension for xgboost to infer the format from.
    model_bytes = bytes(booster.save_raw(raw_format="json"))
    model_path.write_bytes(model_bytes)
    copied_features = None
    if features_file is not None:
        target_dir = Path(features_output_dir) if features_output_dir is not None else out
        target_dir.mkdir(parents=True, exist_ok=True)
        copied_features = target_dir / FEATURES_FILE
        if features_file.resolve() != copied_features.resolve():
            shutil.copyfile(features_file, copied_features)

    validation_history = history.get("validation", {})
    metrics = {
        f"validation_{name}": round(float(values[-1]), 6) for name, values in validation_history.items()
    }
    return {
        "hyperparameters": params,
        "metrics": metrics,
        "train_rows": int(x_train.shape[0]),
        "validation_rows": int(x_validation.shape[0]),
        "features": int(x_train.shape[1]),
        "model_path": str(model_path),
        "model_sha256": hashlib.sha256(model_bytes).hexdigest(),
        "features_path": str(copied_features) if copied_features is not None else None,
    }


def load_split(directory: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Read ``<name>.csv`` (or the only CSV) from a split directory: target first, no header."""
    import numpy as np
    import pandas as pd

    path = directory / f"{name}.csv"
    if not path.is_file():
        candidates = sorted(directory.glob("*.csv")) if directory.is_dir() else []
        if len(candidates) != 1:
            raise ValueError(f"no {name}.csv in {directory}")
        path = candidates[0]
    try:
        table = pd.read_csv(path, header=None, dtype=np.float64).to_numpy()
    except pd.errors.EmptyDataError as exc:
        raise ValueError(f"{path} is empty") from exc
    except ValueError as exc:
        raise ValueError(f"{path} must be all numeric with the target first and no header: {exc}") from exc
    if table.shape[0] == 0 or table.shape[1] < 2:
        raise ValueError(f"{path} needs at least one row with a target and one feature")
    labels = table[:, 0]
    if not np.isin(labels, (0.0, 1.0)).all():
        raise ValueError(f"{path}: the first column must be the 0/1 target")
    return table[:, 1:], labels


def _find_features(train_dir: Path, features_dir: Path | None) -> Path | None:
    candidates = []
    if features_dir is not None:
        candidates.append(Path(features_dir) / FEATURES_FILE)
    candidates.append(train_dir.parent / "features" / FEATURES_FILE)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    if features_dir is not None:
        raise ValueError(f"no {FEATURES_FILE} in {features_dir}")
    return None


def _hyperparameters_from_sagemaker(extra: Mapping[str, str]) -> dict[str, object]:
    """SM_HPS JSON first, then ``--name value`` arguments (what script mode passes) on top."""
    values: dict[str, object] = {}
    raw = os.environ.get("SM_HPS")
    if raw:
        try:
            decoded = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"SM_HPS is not valid JSON: {exc}") from exc
        if not isinstance(decoded, dict):
            raise ValueError("SM_HPS must be a JSON object")
        values.update(decoded)
    values.update(extra)
    return values


def _parse_extra(tokens: Sequence[str]) -> dict[str, str]:
    extra: dict[str, str] = {}
    items = list(tokens)
    while items:
        token = items.pop(0)
        if not token.startswith("--"):
            raise ValueError(f"unexpected argument {token!r}")
        name = token[2:]
        if "=" in name:
            name, value = name.split("=", 1)
        elif items and not items[0].startswith("--"):
            value = items.pop(0)
        else:
            raise ValueError(f"argument {token!r} needs a value")
        key = name.replace("-", "_")
        extra[key if key in HYPERPARAMETER_TYPES else name] = value
    return extra


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train XGBoost binary:logistic on preprocessed CSVs.")
    parser.add_argument("--model-dir", "--model_dir", default=os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train"))
    parser.add_argument(
        "--validation", default=os.environ.get("SM_CHANNEL_VALIDATION", "/opt/ml/input/data/validation")
    )
    parser.add_argument("--features", default=os.environ.get("SM_CHANNEL_FEATURES"))
    args, unknown = parser.parse_known_args(argv)
    try:
        hyperparameters = validate_hyperparameters(_hyperparameters_from_sagemaker(_parse_extra(unknown)))
        result = run(
            Path(args.train),
            Path(args.validation),
            Path(args.model_dir),
            hyperparameters,
            Path(args.features) if args.features else None,
            verbose=True,
        )
    except ValueError as exc:
        message = f"training failed: {exc}"
        print(message, file=sys.stderr)
        failure = Path(os.environ.get("SM_OUTPUT_DIR", "/opt/ml/output")) / "failure"
        if "SM_MODEL_DIR" in os.environ and failure.parent.is_dir():
            failure.write_text(message, encoding="utf-8")  # SageMaker shows it as FailureReason
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
