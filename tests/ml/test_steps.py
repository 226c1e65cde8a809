from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ml import datasets
from ml.parameters import HYPERPARAMETERS
from ml.steps import evaluate, preprocess, train


def _labels(path: Path) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", usecols=0)


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _write_csv(path: Path, header: list[str], rows: Sequence[Sequence[object]]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def _churn_rows(n: int = 200, seed: int = 3) -> list[list[object]]:
    rng = random.Random(seed)
    rows: list[list[object]] = []
    for _ in range(n):
        tenure = rng.randint(1, 72)
        plan = rng.choice(["basic", "plus", "pro", ""])
        spend = "" if rng.random() < 0.05 else round(rng.uniform(10, 120), 2)
        churn = "yes" if (tenure < 12 and rng.random() < 0.8) or rng.random() < 0.1 else "no"
        rows.append([tenure, plan, spend, churn])
    return rows


# -- preprocess ------------------------------------------------------------------------------------
def test_preprocess_split_sizes_and_summary(prepared: tuple[Path, dict[str, Any]], small_data: Path) -> None:
    _, summary = prepared
    rows = datasets.SAMPLE_ROWS
    assert summary["rows"] == rows
    assert summary["train_rows"] + summary["validation_rows"] + summary["test_rows"] == rows
    assert summary["train_rows"] == pytest.approx(0.70 * rows, abs=2)
    assert summary["validation_rows"] == pytest.approx(0.15 * rows, abs=2)
    assert summary["test_rows"] == pytest.approx(0.15 * rows, abs=2)
    assert summary["positive_rate"] == pytest.approx(0.2408, abs=0.001)  # the sample keeps the label mix
    assert summary["dataset_sha256"] == hashlib.sha256(small_data.read_bytes()).hexdigest()
    assert summary["positive_label"] == ">50K"
    assert summary["raw_features"] == 14 and summary["features"] > 50  # categories one-hot encoded


def test_preprocess_splits_are_stratified(prepared: tuple[Path, dict[str, Any]]) -> None:
    data_dir, summary = prepared
    for name in ("train", "validation", "test"):
        labels = _labels(data_dir / name / f"{name}.csv")
        assert set(np.unique(labels)) == {0.0, 1.0}
        assert abs(labels.mean() - summary["positive_rate"]) < 0.01, name


def test_preprocess_writes_target_first_without_header(prepared: tuple[Path, dict[str, Any]]) -> None:
    data_dir, summary = prepared
    with (data_dir / "test" / "test.csv").open(encoding="utf-8") as handle:
        first = next(csv.reader(handle))
    assert first[0] in ("0", "1")
    assert len(first) == summary["features"] + 1
    assert all(np.isfinite(float(value)) for value in first)  # no header, nothing missing
    table = np.loadtxt(data_dir / "test" / "test.csv", delimiter=",")
    assert table.shape == (summary["test_rows"], summary["features"] + 1)


def test_preprocess_feature_spec(prepared: tuple[Path, dict[str, Any]]) -> None:
    data_dir, summary = prepared
    spec = json.loads((data_dir / "features" / "features.json").read_text())
    assert spec["raw_columns"] == list(datasets.ADULT_COLUMNS[:-1])
    assert spec["numeric_columns"] == [
        "age",
        "fnlwgt",
        "education-num",
        "capital-gain",
        "capital-loss",
        "hours-per-week",
    ]
    assert len(spec["feature_names"]) == summary["features"]
    assert "Unknown" in spec["categorical_columns"]["workclass"]  # '?' became its own category
    assert "?" not in spec["categorical_columns"]["occupation"]
    assert spec["target"] == "income" and spec["positive_label"] == ">50K"
    assert spec["feature_names"][:2] == ["age", "workclass=Federal-gov"]


def test_preprocess_baseline_statistics(prepared: tuple[Path, dict[str, Any]]) -> None:
    data_dir, summary = prepared
    stats = json.loads((data_dir / "baseline" / "statistics.json").read_text())
    assert stats["rows"] == summary["train_rows"]
    assert stats["dataset_sha256"] == summary["dataset_sha256"]
    assert abs(stats["label"]["positive_rate"] - summary["positive_rate"]) < 0.01
    age = stats["features"]["age"]
    assert age["type"] == "numeric"
    assert 35 < age["mean"] < 42 and 17 <= age["min"] <= age["quantiles"]["p50"] <= age["max"] <= 90
    assert list(age["quantiles"]) == ["p01", "p05", "p25", "p50", "p75", "p95", "p99"]
    workclass = stats["features"]["workclass"]
    assert workclass["type"] == "categorical"
    assert workclass["missing"] > 0
    assert sum(workclass["frequencies"].values()) == pytest.approx(1.0, abs=1e-4)
    assert set(stats["features"]) == set(datasets.ADULT_COLUMNS[:-1])


def test_preprocess_is_deterministic_with_the_seed(
    prepared: tuple[Path, dict[str, Any]], small_data: Path, tmp_path: Path
) -> None:
    data_dir, summary = prepared
    again = preprocess.run(small_data, tmp_path)
    assert again == summary
    assert _tree_digest(tmp_path) == _tree_digest(data_dir)


def test_preprocess_adult_test_labels_are_normalised(tmp_path: Path) -> None:
    summary = preprocess.run(datasets.adult_test_path(), tmp_path)
    assert summary["rows"] == 16281  # the "|1x3 Cross validator" line is not a row
    assert summary["positive_label"] == ">50K"
    assert 0.2 < summary["positive_rate"] < 0.3  # '>50K.' counted as positive


def test_preprocess_custom_csv_with_named_target(tmp_path: Path) -> None:
    source = _write_csv(tmp_path / "churn.csv", ["tenure", "plan", "monthly_spend", "churn"], _churn_rows())
    out = tmp_path / "out"
    summary = preprocess.run(source, out, target="churn", positive_label="yes", seed=1)
    assert summary["rows"] == 200
    assert summary["train_rows"] == 140 and summary["validation_rows"] == 30 and summary["test_rows"] == 30
    spec = json.loads((out / "features" / "features.json").read_text())
    assert spec["numeric_columns"] == ["tenure", "monthly_spend"]
    assert spec["categorical_columns"]["plan"] == ["Unknown", "basic", "plus", "pro"]
    assert summary["features"] == 2 + 4
    positives = sum(1 for row in _churn_rows() if row[3] == "yes")
    assert summary["positive_rate"] == pytest.approx(positives / 200)
    table = np.loadtxt(out / "train" / "train.csv", delimiter=",")
    assert table.shape == (140, 7)
    assert not np.isnan(table).any()  # missing spend filled with the training median
    other = preprocess.run(source, tmp_path / "other", target="churn", positive_label="yes", seed=2)
    assert other["rows"] == 200
    assert (tmp_path / "other" / "train" / "train.csv").read_bytes() != (
        out / "train" / "train.csv"
    ).read_bytes()


def test_preprocess_zero_one_target_needs_no_positive_label(tmp_path: Path) -> None:
    rows = [[i, "a" if i % 3 else "b", i % 2] for i in range(60)]
    source = _write_csv(tmp_path / "binary.csv", ["x", "group", "label"], rows)
    summary = preprocess.run(source, tmp_path / "out", target="label")
    assert summary["positive_label"] == "1"
    assert summary["positive_rate"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("content", "target", "positive", "message"),
    [
        ("", "income", None, "is empty"),
        ("a,b,label\n", "label", None, "no data rows"),
        ("a,label\n1,x\n2,y\n", "income", None, "target column 'income' is not a column of the input file"),
        ("a,label\n1,x\n2,y\n3,z\n", "label", None, "exactly two classes"),
        ("a,label\n1,x\n2,x\n", "label", None, "exactly two classes"),
        ("a,label\n1,cat\n2,dog\n", "label", None, "pass positive_label"),
        ("a,label\n1,cat\n2,dog\n", "label", "bird", "is not a class"),
        (
            "a,label\n" + "".join(f"{i},{'cat' if i < 5 else 'dog'}\n" for i in range(40)),
            "label",
            "cat",
            "at least",
        ),
        ("1,2,3\n4,5,6\n", "label", None, "target column 'label' is not a column of the input file"),
    ],
)
def test_preprocess_rejects_bad_input(
    tmp_path: Path, content: str, target: str, positive: str | None, message: str
) -> None:
    source = tmp_path / "input.csv"
    source.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        preprocess.run(source, tmp_path / "out", target=target, positive_label=positive)


def test_preprocess_rejects_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        preprocess.run(tmp_path / "nope.csv", tmp_path / "out")


def test_preprocess_main_reads_a_channel_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    channel = tmp_path / "input"
    channel.mkdir()
    _write_csv(channel / "churn.csv", ["tenure", "plan", "monthly_spend", "churn"], _churn_rows())
    code = preprocess.main(
        [
            "--input",
            str(channel),
            "--output-dir",
            str(tmp_path / "out"),
            "--target",
            "churn",
            "--positive-label",
            "yes",
        ]
    )
    assert code == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 200
    assert preprocess.main(["--input", str(tmp_path / "missing"), "--output-dir", str(tmp_path / "o2")]) == 1


# -- train -----------------------------------------------------------------------------------------
def test_train_writes_model_and_features(
    trained_full: tuple[Path, dict[str, Any]], prepared_full: tuple[Path, dict[str, Any]]
) -> None:
    """Trained on the full data set: this measures the model's quality."""
    model_dir, result = trained_full
    assert result["hyperparameters"] == train.DEFAULT_HYPERPARAMETERS
    assert result["metrics"]["validation_auc"] > 0.9
    assert 0 < result["metrics"]["validation_logloss"] < 0.35
    model = model_dir / "xgboost-model"
    assert json.loads(model.read_bytes())["learner"]["objective"]["name"] == "binary:logistic"
    assert result["model_sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    copied = json.loads((model_dir / "features.json").read_text())
    assert copied == json.loads((prepared_full[0] / "features" / "features.json").read_text())


def test_hyperparameter_defaults_are_within_the_spec() -> None:
    assert set(train.DEFAULT_HYPERPARAMETERS) == set(HYPERPARAMETERS)
    for name, value in train.DEFAULT_HYPERPARAMETERS.items():
        spec = HYPERPARAMETERS[name]
        kind = int if spec.type == "integer" else float
        assert spec.minimum is not None and spec.maximum is not None
        assert isinstance(value, kind) and spec.minimum <= value <= spec.maximum, name


def test_validate_hyperparameters_coerces_strings() -> None:
    params = train.validate_hyperparameters({"num_round": "50", "eta": "0.1", "max_depth": 3.0})
    assert params["num_round"] == 50 and isinstance(params["num_round"], int)
    assert params["eta"] == 0.1 and params["max_depth"] == 3
    assert params["subsample"] == 0.8


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"learning_rate": 0.1},
            "unknown hyperparameter 'learning_rate'; valid ones are: alpha, colsample_bytree",
        ),
        ({"num_round": "abc"}, "num_round='abc' is not an integer between 1 and 2000"),
        ({"num_round": 1.5}, "num_round=1.5 is not an integer"),
        ({"max_depth": True}, "max_depth must be an integer between 1 and 16, not a bool"),
        ({"eta": "fast"}, "eta='fast' is not a number"),
        ({"eta": 0}, "eta=0 is out of range: expected a number between 0.001 and 1"),
        ({"subsample": 1.5}, "subsample=1.5 is out of range"),
        ({"gamma": float("nan")}, "gamma=nan is not a number"),
        ({"alpha": [1]}, "alpha must be a number between 0 and 1000, not a list"),
    ],
)
def test_bad_hyperparameters_are_refused(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        train.validate_hyperparameters(values)


def test_train_refuses_bad_hyperparameters_before_training(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown hyperparameter 'depth'"):
        train.run(tmp_path / "train", tmp_path / "validation", tmp_path / "model", {"depth": 3})
    assert not (tmp_path / "model").exists()


def test_train_refuses_headered_data(tmp_path: Path) -> None:
    for name in ("train", "validation"):
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}.csv").write_text("label,x\n1,2\n0,3\n", encoding="utf-8")
    with pytest.raises(ValueError, match="all numeric with the target first and no header"):
        train.run(tmp_path / "train", tmp_path / "validation", tmp_path / "model")


def test_train_main_follows_sagemaker_conventions(
    prepared: tuple[Path, dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir, _ = prepared
    model_dir, output_data = tmp_path / "model", tmp_path / "output" / "data"
    monkeypatch.setenv("SM_MODEL_DIR", str(model_dir))
    monkeypatch.setenv("SM_CHANNEL_TRAIN", str(data_dir / "train"))
    monkeypatch.setenv("SM_CHANNEL_VALIDATION", str(data_dir / "validation"))
    monkeypatch.setenv("SM_OUTPUT_DATA_DIR", str(output_data))
    monkeypatch.setenv("SM_OUTPUT_DIR", str(tmp_path / "output"))
    (tmp_path / "output").mkdir()  # SageMaker creates /opt/ml/output
    monkeypatch.setenv("SM_HPS", json.dumps({"max_depth": 3, "num_round": 50}))
    assert train.main(["--num_round", "5", "--eta", "0.3"]) == 0
    # the archive SageMaker serves holds what inference.py's model_fn reads
    assert sorted(p.name for p in model_dir.iterdir()) == ["features.json", "xgboost-model"]
    assert not output_data.exists()
    trees = json.loads((model_dir / "xgboost-model").read_bytes())["learner"]["gradient_booster"]["model"][
        "trees"
    ]
    assert len(trees) == 5  # CLI arguments win over SM_HPS

    assert train.main(["--num_round", "0"]) == 1
    assert (
        "num_round='0' is out of range: expected an integer between 1 and 2000"
        in (tmp_path / "output" / "failure").read_text()
    )


def test_training_is_deterministic(prepared: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    data_dir, _ = prepared
    first = train.run(data_dir / "train", data_dir / "validation", tmp_path / "a", {"num_round": 10})
    second = train.run(data_dir / "train", data_dir / "validation", tmp_path / "b", {"num_round": 10})
    assert first["model_sha256"] == second["model_sha256"]


# -- evaluate --------------------------------------------------------------------------------------
def test_evaluation_meets_the_quality_bar(
    evaluated: tuple[Path, dict[str, Any]], prepared_full: tuple[Path, dict[str, Any]]
) -> None:
    out, report = evaluated
    assert json.loads((out / "evaluation.json").read_text()) == report
    metrics = report["classification_metrics"]
    assert set(metrics) == {"accuracy", "precision", "recall", "f1", "auc", "confusion_matrix"}
    assert metrics["accuracy"]["value"] >= 0.8
    assert metrics["auc"]["value"] >= 0.85
    for name in ("accuracy", "precision", "recall", "f1", "auc"):
        assert set(metrics[name]) == {"value", "standard_deviation"}
        assert 0 < metrics[name]["value"] <= 1
        assert 0 < metrics[name]["standard_deviation"] < 0.05
    matrix = metrics["confusion_matrix"]
    tn, fp, fn, tp = matrix["0"]["0"], matrix["0"]["1"], matrix["1"]["0"], matrix["1"]["1"]
    assert tn + fp + fn + tp == prepared_full[1]["test_rows"]
    assert metrics["accuracy"]["value"] == pytest.approx((tn + tp) / (tn + fp + fn + tp), abs=1e-6)
    assert metrics["precision"]["value"] == pytest.approx(tp / (tp + fp), abs=1e-6)


def test_fast_bootstrap_metrics_match_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=500)
    scores = np.clip(labels * 0.3 + rng.random(500) * 0.7, 0, 1).round(2)  # rounded: many ties
    slow = evaluate._metrics(labels, scores)
    fast = evaluate._fast_metrics(labels, scores)
    assert fast == pytest.approx(slow, abs=1e-12)


def test_evaluate_main_extracts_the_sagemaker_model_archive(
    trained: tuple[Path, dict[str, Any]], prepared: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    with tarfile.open(model_dir / "model.tar.gz", "w:gz") as tar:
        tar.add(trained[0] / "xgboost-model", arcname="xgboost-model")
    out = tmp_path / "evaluation"
    args = ["--model-dir", str(model_dir), "--test-dir", str(prepared[0] / "test"), "--output-dir", str(out)]
    assert evaluate.main(args) == 0
    direct = evaluate.run(trained[0], prepared[0] / "test", tmp_path / "direct")
    assert json.loads((out / "evaluation.json").read_text()) == direct


def test_evaluate_refuses_unsafe_archives_and_missing_models(tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    payload = b"{}"
    with tarfile.open(model_dir / "model.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("../escape")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    with pytest.raises(ValueError, match="outside the archive root"):
        evaluate.run(model_dir, tmp_path, tmp_path / "out")
    assert not (tmp_path / "escape").exists()
    with pytest.raises(ValueError, match=r"no xgboost-model or model\.tar\.gz"):
        evaluate.run(tmp_path / "empty", tmp_path, tmp_path / "out")
