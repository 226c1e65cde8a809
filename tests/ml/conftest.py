"""Session fixtures, built once and shared read-only.

Tests that only need *a* model or prepared data get the stratified Adult sample (``small_data``,
``prepared``, ``trained``, ``scorer``); only the tests that measure model quality get the full data
set (``prepared_full``, ``trained_full``, ``evaluated``).
"""

from __future__ import annotations

import os

# XGBoost's OpenMP threads spin while they wait: on a busy two-core machine a 3,000-row training run
# then takes seconds instead of a third of one. One thread gives the same model. Set before xgboost
# (and its OpenMP runtime) is first imported.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from pathlib import Path
from typing import Any

import pytest

from ml import datasets
from ml.local import LocalPlatform
from ml.platform import ApprovalStatus, ExecutionStatus
from ml.serving import Scorer
from ml.steps import evaluate, preprocess, train
from tests.ml.waiting import run_to_end

#: A step's output folder and the summary it returned.
Output = tuple[Path, dict[str, Any]]


@pytest.fixture(scope="session")
def small_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``datasets.adult_sample()`` in a file: 3,000 Adult rows, stratified by label and seeded."""
    return datasets.write_adult_sample(tmp_path_factory.mktemp("data") / "adult-sample.data")


def _prepare(source: Path, out: Path) -> Output:
    return out, preprocess.run(source, out)


def _train(prepared: Output, model_dir: Path) -> Output:
    data_dir, _ = prepared
    return model_dir, train.run(data_dir / "train", data_dir / "validation", model_dir)


@pytest.fixture(scope="session")
def prepared(small_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Output:
    """The sample, preprocessed (train, validation and test splits, features, baseline)."""
    return _prepare(small_data, tmp_path_factory.mktemp("prepared"))


@pytest.fixture(scope="session")
def trained(prepared: Output, tmp_path_factory: pytest.TempPathFactory) -> Output:
    """A model trained on the sample with the default hyperparameters: for tests that need *a* model."""
    return _train(prepared, tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="session")
def prepared_full(tmp_path_factory: pytest.TempPathFactory) -> Output:
    """The full bundled training file, preprocessed: only for tests that measure model quality."""
    return _prepare(datasets.adult_train_path(), tmp_path_factory.mktemp("prepared-full"))


@pytest.fixture(scope="session")
def trained_full(prepared_full: Output, tmp_path_factory: pytest.TempPathFactory) -> Output:
    return _train(prepared_full, tmp_path_factory.mktemp("model-full"))


@pytest.fixture(scope="session")
def evaluated(
    prepared_full: Output, trained_full: Output, tmp_path_factory: pytest.TempPathFactory
) -> Output:
    """The full-data model, evaluated on the full data's test split: the quality bar's evidence."""
    out = tmp_path_factory.mktemp("evaluation")
    return out, evaluate.run(trained_full[0], prepared_full[0] / "test", out)


@pytest.fixture(scope="session")
def scorer(trained: Output) -> Scorer:
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
    execution = run_to_end(
        platform,
        {
            "InputData": str(data),
            "AccuracyThreshold": "0.5",  # tiny models: the platforms under test allow it (a lowered floor)
            **hyperparameters,
        },
        "U-train",
    )
    assert execution.status is ExecutionStatus.SUCCEEDED, execution.failure_reason
    assert execution.model_version is not None
    # Registered PendingManualApproval (policy); approved here as an approver would.
    platform.update_approval(execution.model_version, ApprovalStatus.APPROVED, "approved by the test")
    return execution.model_version
