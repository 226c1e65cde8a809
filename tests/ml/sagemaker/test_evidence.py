"""Evidence on SageMaker (moto): the evaluation report and the preprocess statistics read from the run's
step outputs, and a challenger against the champion production serves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.core.evidence import gather_evidence
from bot.core.service import ReleaseService
from bot.store.sqlite import SQLiteStore
from ml.evidence.rules import parse_rules
from ml.platform import NotFound
from ml.sagemaker import SageMakerPlatform
from ml.sagemaker.registry import EVALUATION_SUFFIX, STATISTICS_SUFFIX
from tests.ml.sagemaker.conftest import GROUP
from tests.ml.sagemaker.moto_sagemaker import create_run_package, register_model_package

BUCKET = "mlops-artifacts"
RULES = parse_rules("accuracy >= 0.8; auc >= champion - 0.01")
MATRIX = {"0": {"0": 610, "1": 40}, "1": {"0": 70, "1": 280}}
METRICS = {"accuracy": 0.89, "precision": 0.875, "recall": 0.8, "f1": 0.836, "auc": 0.93}


def register_run(sm: Any, s3: Any, run: str, *, statistics: bool = True) -> None:
    """v2 as the pipeline registers it: evaluation.json (with the matrix) at the run's EvaluateModel
    output and the preprocess statistics at its baseline output."""
    prefix = f"mlops-xgboost-pipeline/{run}"
    evaluation = {
        "classification_metrics": {
            **{k: {"value": v, "standard_deviation": 0.01} for k, v in METRICS.items()},
            "confusion_matrix": MATRIX,
        },
        "threshold": 0.5,
        "rows": 1000,
    }
    s3.put_object(Bucket=BUCKET, Key=prefix + EVALUATION_SUFFIX, Body=json.dumps(evaluation).encode())
    if statistics:
        stats = {"format_version": 1, "dataset_sha256": "ef" * 32, "rows": 4662, "features": {}}
        s3.put_object(Bucket=BUCKET, Key=prefix + STATISTICS_SUFFIX, Body=json.dumps(stats).encode())
    metadata = {"execution_id": run, "input_data": "s3://data/adult.csv"}
    create_run_package(sm, GROUP, prefix, CustomerMetadataProperties=metadata)


def test_the_report_is_joined_with_the_runs_statistics_and_read_once(
    platform: SageMakerPlatform, sm: Any, s3: Any
) -> None:
    register_model_package(sm, s3, GROUP, approval_status="Approved")
    register_run(sm, s3, "run0001")
    report = platform.evaluation(2)
    assert report is not None
    assert report["data"] == {"dataset_sha256": "ef" * 32, "train_rows": 4662}
    assert report["classification_metrics"]["confusion_matrix"] == MATRIX
    s3.delete_object(Bucket=BUCKET, Key=f"mlops-xgboost-pipeline/run0001{EVALUATION_SUFFIX}")
    assert platform.evaluation(2) == report  # written once per run: kept, not read again
    old = platform.evaluation(1)  # another layout: the report alone
    assert old is not None and "data" not in old
    with pytest.raises(NotFound):
        platform.evaluation(9)


def test_a_run_without_statistics_gives_the_report_alone(
    platform: SageMakerPlatform, sm: Any, s3: Any
) -> None:
    register_model_package(sm, s3, GROUP)
    register_run(sm, s3, "run0002", statistics=False)
    report = platform.evaluation(2)
    assert report is not None and "data" not in report and report["rows"] == 1000


def test_evidence_with_and_without_a_champion(
    platform: SageMakerPlatform, sm: Any, s3: Any, tmp_path: Path
) -> None:
    register_model_package(sm, s3, GROUP, approval_status="Approved", metrics={"auc": 0.95})
    register_run(sm, s3, "run0003")
    store = SQLiteStore(tmp_path / "bot.db")
    try:
        release = ReleaseService(platform, store)
        alone = gather_evidence(platform, release.view(2), RULES)
        assert alone.champion_version is None and alone.verdicts[1].why == "no champion"
        assert (alone.data.train_rows, alone.data.validation_rows, alone.data.test_rows) == (4662, None, 1000)
        assert alone.data.dataset_sha256 == "ef" * 32 and alone.confusion is not None
        assert alone.confusion.to_dict() == {"tn": 610, "fp": 40, "fn": 70, "tp": 280}

        platform.deploy("production", 1, "U0CAROL")
        evidence = gather_evidence(platform, release.view(2), RULES)
        assert evidence.champion_version == 1
        auc = next(m for m in evidence.metrics if m.name == "auc")
        assert (auc.value, auc.champion) == (0.93, 0.95) and auc.delta == pytest.approx(-0.02)
        accuracy, relative = evidence.verdicts
        assert accuracy.passed is True and relative.passed is False  # 0.93 < 0.95 - 0.01
        assert evidence.model_package_arn == platform.registry.package_arn(2)
    finally:
        store.close()
