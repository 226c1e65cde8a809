"""``Registry.baseline``: a version's drift baseline read from its pipeline run's step outputs (moto),
and what the drift check says of a version whose run wrote none."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ParamValidationError

from bot.core.records import Records
from bot.store.sqlite import SQLiteStore
from ml.datasets import ADULT_COLUMNS
from ml.drift.environment import DriftUnavailable, check_environment
from ml.pipeline import layout
from ml.platform import ApprovalStatus, LifeCycle, ModelPackage, NotFound
from ml.sagemaker import SageMakerPlatform
from ml.sagemaker.registry import BASELINE_SUFFIX, EVALUATION_SUFFIX, still_current
from tests.ml.sagemaker import moto_sagemaker
from tests.ml.sagemaker.conftest import GROUP
from tests.ml.sagemaker.moto_sagemaker import create_run_package, register_model_package
from tests.ml.steps.container import deps_folder, run_alone

BUCKET = "mlops-artifacts"
DRIFT = {"format_version": 1, "rows": 10, "missing_values": ["?"], "features": {}, "score": None}
SCORES = {"edges": [0.5], "proportions": [0.7, 0.3], "rows": 10}


def register_run(sm: Any, s3: Any, run: str, *, drift: bytes | None) -> None:
    """A version as the pipeline registers it: evaluation.json at the run's EvaluateModel output and,
    when the preprocess step wrote one, ``drift`` at its baseline output."""
    register_model_package(sm, s3, GROUP)  # creates the group and the bucket (version 1, old layout)
    prefix = f"mlops-xgboost-pipeline/{run}"
    evaluation = {"classification_metrics": {"accuracy": {"value": 0.86}}, "score_baseline": SCORES}
    s3.put_object(Bucket=BUCKET, Key=prefix + EVALUATION_SUFFIX, Body=json.dumps(evaluation).encode())
    if drift is not None:
        s3.put_object(Bucket=BUCKET, Key=prefix + BASELINE_SUFFIX, Body=drift)
    create_run_package(sm, GROUP, prefix, approval_status="Approved")


def test_the_suffixes_follow_the_pipeline_layout() -> None:
    assert f"/{layout.STEP_EVALUATE}/{layout.EVALUATION_OUTPUT}/{layout.EVALUATION_FILE}" == EVALUATION_SUFFIX
    assert f"/{layout.STEP_PREPROCESS}/baseline/drift.json" == BASELINE_SUFFIX
    assert "baseline" in layout.PREPROCESS_OUTPUTS


def test_baseline_joins_the_preprocess_bins_and_the_evaluation_scores(
    platform: SageMakerPlatform, sm: Any, s3: Any
) -> None:
    register_run(sm, s3, "run0001", drift=json.dumps(DRIFT).encode())
    assert platform.baseline(2) == {**DRIFT, "score": SCORES}


def test_no_baseline_for_runs_that_wrote_none_or_other_layouts(
    platform: SageMakerPlatform, sm: Any, s3: Any
) -> None:
    register_run(sm, s3, "run0002", drift=None)
    assert platform.baseline(2) is None  # the preprocess step could not import ml.drift
    assert platform.baseline(1) is None  # evaluation.json outside a pipeline run's layout
    with pytest.raises(NotFound):
        platform.baseline(9)


def test_baseline_reads_what_preprocess_writes_alone_in_its_processing_job(
    platform: SageMakerPlatform, sm: Any, s3: Any, small_data: Path, tmp_path: Path
) -> None:
    job = run_alone(tmp_path / "job", small_data, "--deps", str(deps_folder(tmp_path / "deps")))
    assert job.returncode == 0, job.stderr
    written = (tmp_path / "job" / "out" / "baseline" / "drift.json").read_bytes()
    register_run(sm, s3, "run0003", drift=written)
    baseline = platform.baseline(2)
    assert baseline == {**json.loads(written), "score": SCORES}
    assert baseline["features"]["age"]["kind"] == "numeric"
    assert list(baseline["features"]) == list(ADULT_COLUMNS[:-1])  # every raw feature, no label


def test_the_check_of_a_version_without_baseline_says_to_re_upload_the_code(
    platform: SageMakerPlatform, sm: Any, s3: Any
) -> None:
    register_run(sm, s3, "run0004", drift=None)
    platform.deploy("staging", 2, "U0ALICE")
    with pytest.raises(DriftUnavailable) as refused:
        check_environment(platform, "staging", timedelta(hours=1), datetime.now(UTC))
    message = str(refused.value)
    assert message.startswith("v2 has no drift baseline: its pipeline run could not write one")
    assert "re-upload the pipeline code with `python -m ml pipeline upload-code`" in message
    assert message.endswith("then retrain") and "trained before drift baselines existed" not in message


def test_a_stage_update_sends_only_model_life_cycle_and_keeps_the_rest(
    platform: SageMakerPlatform, sm: Any, s3: Any
) -> None:
    registered = register_model_package(sm, s3, GROUP, approval_status="Approved")
    platform.update_approval(registered.version, ApprovalStatus.APPROVED, "fine by bob")
    life = LifeCycle("Production", "Approved", "Promoted to production by carol via mlops-bot")
    package = platform.update_life_cycle(registered.version, life)
    assert package.life_cycle == life
    assert package.approval_status is ApprovalStatus.APPROVED
    assert package.approval_description == "fine by bob"
    assert package.lineage == registered.lineage
    request = moto_sagemaker.update_model_package_requests()[-1]
    assert request["ModelLifeCycle"] == life.request()
    assert "ModelApprovalStatus" not in request and "ApprovalDescription" not in request
    described = sm.describe_model_package(ModelPackageName=registered.arn)
    assert described["ModelLifeCycle"] == life.request()
    assert platform.describe_model_package(registered.version).life_cycle == life


def test_stage_requests_are_checked_by_botocore_and_unknown_versions_refused(
    platform: SageMakerPlatform, sm: Any, s3: Any
) -> None:
    registered = register_model_package(sm, s3, GROUP)
    with pytest.raises(ParamValidationError, match="StageStatus"):  # the shape the platform must send
        sm.update_model_package(ModelPackageArn=registered.arn, ModelLifeCycle={"Stage": "Production"})
    with pytest.raises(ParamValidationError, match="Invalid length"):  # botocore checks minimums only:
        sm.update_model_package(  # the 1024-character maximum is LifeCycle's to keep
            ModelPackageArn=registered.arn, ModelLifeCycle={"Stage": "", "StageStatus": "Approved"}
        )
    with pytest.raises(ValueError, match="1024"):
        LifeCycle("Production", "Approved", "x" * 1025)
    with pytest.raises(NotFound):
        platform.update_life_cycle(42, LifeCycle("Staging", "InProgress"))


# -- versions remembered in the bot's store ----------------------------------------------------------------
@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    db = SQLiteStore(tmp_path / "bot.db")
    yield db
    db.close()


def remembering(config: Any, session: Any, store: SQLiteStore) -> SageMakerPlatform:
    return SageMakerPlatform(config, session, facts=Records(store))


def calls(client: Any, operation: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    client.meta.events.register(f"provide-client-params.{operation}", lambda params, **_: seen.append(params))
    return seen


def test_a_new_process_lists_remembered_versions_without_describing_them(
    config: Any, session: Any, sm: Any, s3: Any, store: SQLiteStore
) -> None:
    for accuracy in (0.84, 0.88, 0.9):
        register_model_package(sm, s3, GROUP, accuracy=accuracy)
    first = remembering(config, session, store)
    described = first.list_model_packages()
    later = remembering(config, session, store)  # as after a restart: no in-process cache
    describes = calls(later.sagemaker, "sagemaker.DescribeModelPackage")
    gets = calls(later._client("s3"), "s3.GetObject")
    listed = later.list_model_packages(2)
    assert listed == described[:2]
    assert [p.metrics["accuracy"] for p in listed] == [0.9, 0.88]
    assert describes == [] and gets == []
    first.close()
    later.close()


def test_a_version_changed_outside_the_bot_is_described_again(
    config: Any, session: Any, sm: Any, s3: Any, store: SQLiteStore
) -> None:
    register_model_package(sm, s3, GROUP)
    register_model_package(sm, s3, GROUP)
    first = remembering(config, session, store)
    first.list_model_packages()
    # Approved in the console, and its stage moved, while no event reached the bot.
    arn = first.package_arn(1)
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="ok")
    later = remembering(config, session, store)
    describes = calls(later.sagemaker, "sagemaker.DescribeModelPackage")
    listed = later.list_model_packages()
    assert [d["ModelPackageName"] for d in describes] == [arn]
    assert listed[1].approval_status is ApprovalStatus.APPROVED
    assert listed[1].approval_description == "ok"
    # and the fresh facts replaced the stale ones
    assert Records(store).known_package(GROUP, 1) == listed[1]
    first.close()
    later.close()


def test_a_stage_change_alone_makes_the_version_described_again(
    config: Any, session: Any, sm: Any, s3: Any, store: SQLiteStore
) -> None:
    register_model_package(sm, s3, GROUP)
    first = remembering(config, session, store)
    first.list_model_packages()
    remembered = Records(store).known_package(GROUP, 1)
    assert remembered is not None and remembered.life_cycle is None
    # What the listing would say after a stage change the store has not seen.
    summary = {
        "ModelPackageArn": remembered.arn,
        "ModelApprovalStatus": remembered.approval_status.value,
        "ModelLifeCycle": {"Stage": "Staging", "StageStatus": "InProgress"},
    }
    assert not still_current(remembered, summary)
    staged = replace(remembered, life_cycle=LifeCycle("Staging", "InProgress", "why"))
    assert still_current(staged, summary)  # the listing's description is not compared
    assert not still_current(replace(staged, arn=remembered.arn + "0"), summary)
    first.close()


def test_unread_metrics_are_not_remembered(
    config: Any, session: Any, sm: Any, s3: Any, store: SQLiteStore
) -> None:
    registered = register_model_package(sm, s3, GROUP)
    uri = registered.metrics_uri
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    s3.delete_object(Bucket=bucket, Key=key)
    platform = remembering(config, session, store)
    assert platform.list_model_packages()[0].metrics == {}
    assert Records(store).known_package(GROUP, 1) is None
    platform.close()


class BrokenFacts:
    def remember_package(self, package: ModelPackage) -> None:
        raise OSError("disk full")

    def known_packages(self, group: str, limit: int | None) -> list[ModelPackage]:
        raise OSError("table unreachable")


def test_a_failing_store_costs_only_the_describes_it_would_save(
    config: Any, session: Any, sm: Any, s3: Any, caplog: pytest.LogCaptureFixture
) -> None:
    register_model_package(sm, s3, GROUP, accuracy=0.9)
    platform = SageMakerPlatform(config, session, facts=BrokenFacts())
    describes = calls(platform.sagemaker, "sagemaker.DescribeModelPackage")
    with caplog.at_level(logging.WARNING, logger="ml.sagemaker.registry"):
        listed = platform.list_model_packages()
    assert [p.metrics["accuracy"] for p in listed] == [0.9] and len(describes) == 1
    assert "table unreachable" in caplog.text and "disk full" in caplog.text
    platform.close()
