"""Session fixtures: the bundled Adult data is preprocessed, trained on and evaluated once."""

from __future__ import annotations

import gzip
import time
from pathlib import Path
from typing import Any

import pytest

from ml import datasets
from ml.local import LocalPlatform
from ml.platform import ExecutionStatus
from ml.serving import Scorer
from ml.steps import evaluate, preprocess, train


@pytest.fixture(scope="session")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("prepared")
    summary = preprocess.run(datasets.adult_train_path(), out)
    return out, summary


@pytest.fixture(scope="session")
def trained(
    prepared: tuple[Path, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    data_dir, _ = prepared
    model_dir = tmp_path_factory.mktemp("model")
    result = train.run(data_dir / "train", data_dir / "validation", model_dir)
    return model_dir, result


@pytest.fixture(scope="session")
def evaluated(
    prepared: tuple[Path, dict[str, Any]],
    trained: tuple[Path, dict[str, Any]],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("evaluation")
    report = evaluate.run(trained[0], prepared[0] / "test", out)
    return out, report


@pytest.fixture(scope="session")
def scorer(trained: tuple[Path, dict[str, Any]]) -> Scorer:
    return Scorer.load(trained[0])


@pytest.fixture(scope="session")
def adult_test_rows() -> list[tuple[list[str], str]]:
    """The first 300 rows of the bundled adult.test (raw values, normalised label)."""
    rows = []
    for row in datasets.iter_adult_rows(datasets.adult_test_path()):
        rows.append(row)
        if len(rows) == 300:
            break
    return rows


def train_version(platform: LocalPlatform, data: Path, **hyperparameters: str) -> int:
    started = platform.start_pipeline(
        {
            "InputData": str(data),
            "ModelApprovalStatus": "Approved",
            "AccuracyThreshold": "0.5",
            **hyperparameters,
        },
        "U-train",
    )
    deadline = time.monotonic() + 120
    while not (execution := platform.describe_execution(started.execution_id)).status.terminal:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert execution.status is ExecutionStatus.SUCCEEDED, execution.failure_reason
    assert execution.model_version is not None
    return execution.model_version


@pytest.fixture(scope="session")
def small_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "adult-small.data"
    with gzip.open(datasets.adult_train_path(), "rt", encoding="utf-8") as source:
        lines = [line for _, line in zip(range(3000), source, strict=False)]
    path.write_text("".join(lines), encoding="utf-8")
    return path
