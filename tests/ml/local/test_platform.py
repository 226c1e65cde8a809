"""LocalPlatform pipelines, registry, events and restart safety, with real training on Adult."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ml import datasets
from ml.local import LocalPlatform
from ml.local.platform import INTERRUPTED
from ml.local.source import code_root, detect
from ml.parameters import HYPERPARAMETERS
from ml.platform import (
    DT_ENDPOINT,
    DT_EXECUTION,
    DT_MODEL_PACKAGE,
    DT_STEP,
    PIPELINE_STEPS,
    ApprovalStatus,
    Execution,
    ExecutionStatus,
    InvalidRequest,
    MLPlatform,
    NotFound,
    StepStatus,
)
from ml.steps import train
from tests import paths
from tests.ml.waiting import RunWatch

PROJECT_ROOT = paths.ROOT
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
ENVELOPE_KEYS = {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}


class Trained:
    def __init__(
        self, platform: LocalPlatform, runs: RunWatch, events: list[dict[str, Any]], execution: Execution
    ) -> None:
        self.platform = platform
        self.runs = runs
        self.events = events
        self.execution = execution


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, small_data: Path) -> Iterator[Trained]:
    """One run with every default but the data (the stratified sample), shared by the module."""
    platform = LocalPlatform(
        tmp_path_factory.mktemp("home"), host_endpoints_in_process=True, data_dir=small_data.parent
    )
    received: list[dict[str, Any]] = []
    platform.subscribe(received.append)
    runs = RunWatch(platform)
    # A commit the caller claims is not what the run records: the checkout it runs from is.
    started = platform.start_pipeline({"InputData": str(small_data)}, requested_by="U123", git_sha="0123abc")
    execution = runs.wait(started.execution_id)
    assert platform.flush_events()
    yield Trained(platform, runs, list(received), execution)
    platform.close()


# -- pipelines ------------------------------------------------------------------------------------------


def test_local_platform_satisfies_the_protocol(trained: Trained) -> None:
    assert isinstance(trained.platform, MLPlatform)
    assert trained.platform.name == "local"


def test_a_registered_version_keeps_its_drift_baseline(trained: Trained) -> None:
    baseline = trained.platform.baseline(1)
    assert baseline is not None and baseline["format_version"] == 1
    assert list(baseline["features"]) == list(datasets.ADULT_COLUMNS[:-1])
    assert baseline["score"]["rows"] > 0 and len(baseline["score"]["proportions"]) == 10  # the test split
    folder = trained.platform.home / "artifacts" / "models" / "v1"
    assert json.loads((folder / "baseline" / "drift.json").read_text())["score"] is None
    with pytest.raises(NotFound):
        trained.platform.baseline(99)


def test_full_run_registers_a_pending_version(trained: Trained) -> None:
    execution = trained.execution
    assert execution.status is ExecutionStatus.SUCCEEDED, execution.failure_reason
    assert execution.execution_id.startswith(
        "arn:aws:sagemaker:local:000000000000:pipeline/mlops-xgboost-pipeline/execution/"
    )
    assert len(execution.execution_id.rsplit("/", 1)[1]) == 12
    assert execution.model_version == 1
    checkout = detect(code_root())
    assert checkout.state == "checkout", "the tests run from a git checkout"
    assert execution.requested_by == "U123" and execution.git_sha == checkout.sha
    suffix = execution.execution_id.rsplit("/", 1)[1]
    assert execution.origin == {
        "git_state": "checkout",
        "git_dirty": "true" if checkout.dirty else "false",
        "logs": f"logs/runs/{suffix}.log",
    }
    run_log = (trained.platform.home / execution.origin["logs"]).read_text(encoding="utf-8")
    assert "TrainModel: succeeded" in run_log and "run succeeded: registered v1" in run_log
    assert execution.parameters["AccuracyThreshold"] == "0.8"
    assert execution.parameters["num_round"] == str(train.DEFAULT_HYPERPARAMETERS["num_round"])

    assert [s.name for s in execution.steps] == list(PIPELINE_STEPS)
    previous_end = execution.started_at
    for step in execution.steps:
        assert step.status is StepStatus.SUCCEEDED
        assert step.started_at is not None and step.ended_at is not None
        assert previous_end <= step.started_at <= step.ended_at
        previous_end = step.ended_at
    assert execution.ended_at is not None and execution.ended_at >= previous_end

    packages = trained.platform.list_model_packages()
    assert [p.version for p in packages] == [1]
    package = trained.platform.describe_model_package(1)
    assert package.approval_status is ApprovalStatus.PENDING
    assert package.arn == "arn:aws:sagemaker:local:000000000000:model-package/mlops-xgboost/1"
    assert set(package.metrics) == {"accuracy", "precision", "recall", "f1", "auc"}
    assert package.metrics["accuracy"] >= 0.8
    assert all(0.0 <= v <= 1.0 for v in package.metrics.values())

    model_dir = trained.platform.home / "artifacts" / "models" / "v1"
    assert package.artifact_uri == model_dir.as_uri() + "/"
    for name in ("xgboost-model", "features.json", "evaluation.json", "baseline/statistics.json"):
        assert (model_dir / name).is_file(), name
    assert package.artifact_sha256 == hashlib.sha256((model_dir / "xgboost-model").read_bytes()).hexdigest()
    evaluation = json.loads((model_dir / "evaluation.json").read_text())
    assert package.metrics["accuracy"] == evaluation["classification_metrics"]["accuracy"]["value"]

    lineage = package.lineage
    assert lineage["execution_id"] == execution.execution_id
    assert lineage["requested_by"] == "U123" and lineage["git_sha"] == checkout.sha
    assert lineage["git_state"] == "checkout" and lineage["logs"] == execution.origin["logs"]
    assert re.fullmatch(r"[0-9a-f]{64}", lineage["dataset_sha256"])
    assert json.loads(lineage["parameters"])["ModelApprovalStatus"] == "PendingManualApproval"
    assert json.loads(lineage["hyperparameters"]) == train.DEFAULT_HYPERPARAMETERS
    assert lineage["threshold"] == "0.8"
    assert lineage["test_rows"] == str(evaluation["rows"])  # the rows behind the registered accuracy


def test_events_follow_the_run_in_order_with_sagemaker_envelopes(trained: Trained) -> None:
    events = trained.events
    execution_arn = trained.execution.execution_id
    pipeline_arn = "arn:aws:sagemaker:local:000000000000:pipeline/mlops-xgboost-pipeline"
    for event in events:
        assert set(event) == ENVELOPE_KEYS
        assert event["version"] == "0" and event["source"] == "aws.sagemaker"
        assert event["account"] == "000000000000" and event["region"] == "local"
        assert ISO_Z.match(event["time"]), event["time"]
        assert re.fullmatch(r"[0-9a-f-]{36}", event["id"])
    assert len({e["id"] for e in events}) == len(events)

    summary = []
    for event in events:
        detail = event["detail"]
        if event["detail-type"] == DT_EXECUTION:
            assert event["resources"] == [pipeline_arn, execution_arn]
            assert detail["pipelineExecutionArn"] == execution_arn and detail["pipelineArn"] == pipeline_arn
            assert ISO_Z.match(detail["executionStartTime"])
            summary.append(("execution", detail["currentPipelineExecutionStatus"]))
        elif event["detail-type"] == DT_STEP:
            assert detail["pipelineExecutionArn"] == execution_arn
            assert ISO_Z.match(detail["stepStartTime"])
            summary.append((detail["stepName"], detail["currentStepStatus"]))
        else:
            assert event["detail-type"] == DT_MODEL_PACKAGE
            assert detail["ModelPackageVersion"] == 1 and detail["ModelPackageGroupName"] == "mlops-xgboost"
            assert detail["ModelApprovalStatus"] == "PendingManualApproval"
            assert detail["MetadataProperties"]["GeneratedBy"] == execution_arn
            assert event["resources"] == [detail["ModelPackageArn"]]
            summary.append(("package", detail["ModelApprovalStatus"]))

    expected = [("execution", "Executing")]
    for step in PIPELINE_STEPS:
        expected.append((step, "Executing"))
        if step == "RegisterModel":
            expected.append(("package", "PendingManualApproval"))
        expected.append((step, "Succeeded"))
    expected.append(("execution", "Succeeded"))
    assert summary == expected

    final = events[-1]["detail"]
    assert final["previousPipelineExecutionStatus"] == "Executing"
    assert ISO_Z.match(final["executionEndTime"])
    step_done = next(e["detail"] for e in events if e["detail"].get("currentStepStatus") == "Succeeded")
    assert step_done["previousStepStatus"] == "Executing" and "stepEndTime" in step_done
    assert step_done["stepType"] == "Processing"
    assert step_done["metadata"]["processingJob"]["arn"].startswith(
        "arn:aws:sagemaker:local:000000000000:processing-job/pipelines-"
    )


def test_accuracy_below_threshold_fails_at_check_accuracy_and_registers_nothing(
    trained: Trained, small_data: Path
) -> None:
    platform = trained.platform
    before = platform.list_model_packages()
    started = platform.start_pipeline(
        {"InputData": str(small_data), "AccuracyThreshold": "0.99", "num_round": "10"}, "U123"
    )
    execution = trained.runs.wait(started.execution_id)
    assert execution.status is ExecutionStatus.FAILED
    assert execution.failure_reason is not None
    assert re.fullmatch(
        r"CheckAccuracy: accuracy 0\.\d{4} is below AccuracyThreshold 0\.99", execution.failure_reason
    )
    steps = {s.name: s for s in execution.steps}
    assert steps["EvaluateModel"].status is StepStatus.SUCCEEDED
    assert steps["CheckAccuracy"].status is StepStatus.FAILED
    assert steps["CheckAccuracy"].failure_reason is not None
    assert "below AccuracyThreshold 0.99" in steps["CheckAccuracy"].failure_reason
    assert steps["RegisterModel"].status is StepStatus.PENDING and steps["RegisterModel"].started_at is None
    assert execution.model_version is None
    assert platform.list_model_packages() == before


def test_a_failing_step_fails_the_run_with_its_message(
    trained: Trained, small_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_train(*_args: object, **_kwargs: object) -> dict[str, Any]:
        raise OSError("no space left on device")

    monkeypatch.setattr(train, "run", broken_train)
    platform = trained.platform
    received: list[dict[str, Any]] = []
    platform.subscribe(received.append)
    before = platform.list_model_packages()
    execution = trained.runs.wait(platform.start_pipeline({"InputData": str(small_data)}, "U9").execution_id)
    assert execution.status is ExecutionStatus.FAILED
    assert execution.failure_reason == "TrainModel: no space left on device"
    assert [s.status for s in execution.steps] == [
        StepStatus.SUCCEEDED,
        StepStatus.FAILED,
        StepStatus.PENDING,
        StepStatus.PENDING,
        StepStatus.PENDING,
    ]
    assert execution.steps[1].failure_reason == "no space left on device"
    assert platform.list_model_packages() == before
    assert platform.flush_events()
    mine = [
        e["detail"] for e in received if e["detail"].get("pipelineExecutionArn") == execution.execution_id
    ]
    failed_step = next(d for d in mine if d.get("currentStepStatus") == "Failed")
    assert (
        failed_step["stepName"] == "TrainModel" and failed_step["failureReason"] == "no space left on device"
    )
    assert mine[-1]["currentPipelineExecutionStatus"] == "Failed"
    assert mine[-1]["failureReason"] == "TrainModel: no space left on device"


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        (
            {"max_dept": "6"},
            r"Unknown parameter 'max_dept'\. Did you mean 'max_depth'\? Valid parameters: InputData,",
        ),
        ({"Threshold": "0.9"}, r"Did you mean 'AccuracyThreshold'\?"),
        ({"max_depth": "deep"}, r"max_depth='deep' is not an integer between 1 and 16"),
        ({"max_depth": "4.5"}, r"max_depth='4.5' is not an integer"),
        ({"num_round": "0"}, r"num_round='0' is out of range: expected an integer between 1 and 2000"),
        ({"eta": "nan"}, r"eta='nan' is not a number between 0.001 and 1"),
        (
            {"AccuracyThreshold": "1.5"},
            r"AccuracyThreshold='1.5' is out of range: expected a number between 0 and 1",
        ),
        ({"AccuracyThreshold": "0.75"}, r"below the minimum this deployment sets \(0\.8"),
        ({"ModelApprovalStatus": "Approved"}, r"ModelApprovalStatus is set by the deployment, not per run"),
        ({"ProcessingInstanceType": "ml.m5.xlarge"}, r"applies to the sagemaker platform only"),
        ({"InputData": "/nonexistent/adult.csv"}, r"InputData must be the bundled Adult training data"),
        ({"InputData": "s3://bucket/adult.csv"}, r"reads local files only"),
        # lineage is recorded by the platform: no parameter sets it
        ({"git_sha": "deadbeef"}, r"Unknown parameter 'git_sha'"),
        ({"git_dirty": "false"}, r"Unknown parameter 'git_dirty'"),
        ({"logs": "/etc/passwd"}, r"Unknown parameter 'logs'"),
    ],
)
def test_bad_parameters_are_refused_before_anything_runs(
    trained: Trained, parameters: dict[str, str], expected: str
) -> None:
    count = len(trained.platform.list_executions(limit=100))
    with pytest.raises(InvalidRequest, match=expected):
        trained.platform.start_pipeline(parameters, "U123")
    assert len(trained.platform.list_executions(limit=100)) == count


def test_pipeline_parameters_describe_defaults_types_and_bounds(trained: Trained) -> None:
    specs = trained.platform.pipeline_parameters()
    assert list(specs)[:3] == ["InputData", "TargetColumn", "AccuracyThreshold"]
    assert "ModelApprovalStatus" not in specs  # policy: the deployment sets it
    assert Path(str(specs["InputData"].default)) == datasets.adult_train_path()
    assert specs["TargetColumn"].default == "income"
    threshold = specs["AccuracyThreshold"]
    assert (threshold.type, threshold.default, threshold.minimum, threshold.maximum) == (
        "float",
        0.8,
        0.0,
        1.0,
    )
    hyper = {name: spec for name, spec in specs.items() if spec.hyperparameter}
    assert hyper == dict(HYPERPARAMETERS)
    assert {name: spec.default for name, spec in hyper.items()} == train.DEFAULT_HYPERPARAMETERS


def test_stop_between_steps_and_a_bounded_queue(
    trained: Trained, small_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ml.steps import preprocess

    gate, entered = threading.Event(), threading.Event()
    real = preprocess.run

    def gated(*args: Any, **kwargs: Any) -> dict[str, Any]:
        entered.set()
        assert gate.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(preprocess, "run", gated)
    platform = trained.platform
    received: list[dict[str, Any]] = []
    platform.subscribe(received.append)
    first = platform.start_pipeline({"InputData": str(small_data)}, "U1")
    second = platform.start_pipeline({"InputData": str(small_data)}, "U2")
    try:
        assert entered.wait(60), "the first run never reached its first step"
        assert platform.describe_execution(first.execution_id).steps[0].status is StepStatus.EXECUTING
        # One worker, held by the first run: the second waits in the queue without starting a step.
        waiting = platform.describe_execution(second.execution_id)
        assert waiting.status is ExecutionStatus.EXECUTING
        assert all(s.status is StepStatus.PENDING for s in waiting.steps)

        assert platform.stop_execution(second.execution_id).status is ExecutionStatus.STOPPED
        assert platform.stop_execution(first.execution_id).status is ExecutionStatus.STOPPING
    finally:
        gate.set()
    stopped = trained.runs.wait(first.execution_id)
    assert stopped.status is ExecutionStatus.STOPPED and stopped.ended_at is not None
    assert stopped.steps[0].status is StepStatus.SUCCEEDED  # the step in flight finishes
    assert [s.status for s in stopped.steps[1:]] == [StepStatus.PENDING] * 4
    with pytest.raises(InvalidRequest, match="already Stopped"):
        platform.stop_execution(first.execution_id)
    assert platform.flush_events()
    statuses = [
        e["detail"]["currentPipelineExecutionStatus"]
        for e in received
        if e["detail-type"] == DT_EXECUTION and e["detail"]["pipelineExecutionArn"] == first.execution_id
    ]
    assert statuses == ["Executing", "Stopping", "Stopped"]
    assert platform.describe_execution(second.execution_id).steps[0].status is StepStatus.PENDING
    # The queued run never started a step: it announced itself and its stop, nothing else.
    second_events = [e for e in received if e["detail"].get("pipelineExecutionArn") == second.execution_id]
    assert [(e["detail-type"], e["detail"].get("currentPipelineExecutionStatus")) for e in second_events] == [
        (DT_EXECUTION, "Executing"),
        (DT_EXECUTION, "Stopping"),
        (DT_EXECUTION, "Stopped"),
    ]


def test_describe_accepts_the_short_id_and_reports_unknown_ones(trained: Trained) -> None:
    short = trained.execution.execution_id.rsplit("/", 1)[1]
    assert trained.platform.describe_execution(short).execution_id == trained.execution.execution_id
    with pytest.raises(NotFound, match="does not exist"):
        trained.platform.describe_execution("zzzzzzzzzzzz")
    listed = trained.platform.list_executions(limit=100)
    assert trained.execution.execution_id in [e.execution_id for e in listed]
    assert [e.started_at for e in listed] == sorted((e.started_at for e in listed), reverse=True)


# -- registry -------------------------------------------------------------------------------------------


def test_approval_gates_deployment(trained: Trained) -> None:
    platform = trained.platform
    received: list[dict[str, Any]] = []
    platform.subscribe(received.append)
    with pytest.raises(
        InvalidRequest, match=r"^v1 is PendingManualApproval: only Approved versions can be deployed$"
    ):
        platform.deploy("staging", 1, "U1")
    with pytest.raises(NotFound, match=r"^model version v7 does not exist \(latest is v1\)$"):
        platform.describe_model_package(7)
    with pytest.raises(NotFound, match=r"v7 does not exist"):
        platform.update_approval(7, ApprovalStatus.APPROVED, "x")

    approved = platform.update_approval(1, ApprovalStatus.APPROVED, "looks good (U1)")
    assert approved.approval_status is ApprovalStatus.APPROVED
    assert platform.describe_model_package(1).approval_description == "looks good (U1)"
    try:
        assert platform.deploy("staging", 1, "U1").version == 1
    finally:
        platform.update_approval(1, ApprovalStatus.PENDING, "back to review")
    assert platform.flush_events()
    approvals = [e["detail"] for e in received if e["detail-type"] == DT_MODEL_PACKAGE]
    assert [a["ModelApprovalStatus"] for a in approvals] == ["Approved", "PendingManualApproval"]
    assert approvals[0]["ApprovalDescription"] == "looks good (U1)"
    assert approvals[0]["UpdatedModelPackageFields"] == ["ModelApprovalStatus", "ApprovalDescription"]
    assert [e["detail"]["EndpointStatus"] for e in received if e["detail-type"] == DT_ENDPOINT] == [
        "CREATING",
        "IN_SERVICE",
    ]


# -- restart safety -------------------------------------------------------------------------------------

# Each line is one write(2) to the pipe, so the two threads' lines never interleave.
_HANGING_RUN = """
import os, sys, threading
from pathlib import Path
from ml.steps import preprocess

def hang(*args, **kwargs):
    os.write(1, b"preprocessing\\n")
    threading.Event().wait()

preprocess.run = hang
from ml.local import LocalPlatform
platform = LocalPlatform(Path(sys.argv[1]))
os.write(1, platform.start_pipeline({}, "U-crash").execution_id.encode() + b"\\n")
threading.Event().wait()
"""


def test_a_second_platform_sees_the_registry_and_fails_runs_of_dead_processes(
    trained: Trained, tmp_path: Path
) -> None:
    again = LocalPlatform(trained.platform.home, host_endpoints_in_process=True)
    try:
        assert again.list_model_packages() == trained.platform.list_model_packages()
        assert again.describe_execution(trained.execution.execution_id) == trained.execution
    finally:
        again.close()

    home = tmp_path / "crash-home"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", _HANGING_RUN, str(home)], stdout=subprocess.PIPE, env=env, text=True
    )
    try:
        assert process.stdout is not None
        # The run's id and the first step's start, in whichever order the two threads print them.
        lines = sorted(process.stdout.readline().strip() for _ in range(2))
        execution_id = lines[0]
        assert execution_id.startswith("arn:aws:sagemaker:local:") and lines[1] == "preprocessing", lines
        # A platform opened while the owner lives leaves its run alone.
        alive = LocalPlatform(home)
        try:
            running = alive.describe_execution(execution_id)
            assert running.status is ExecutionStatus.EXECUTING
            assert running.steps[0].status is StepStatus.EXECUTING
        finally:
            alive.close()
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    restarted = LocalPlatform(home)
    try:
        execution = restarted.describe_execution(execution_id)
        assert execution.status is ExecutionStatus.FAILED
        assert execution.failure_reason == INTERRUPTED == "interrupted: the process running it stopped"
        assert execution.ended_at is not None
        assert execution.steps[0].status is StepStatus.FAILED
        assert execution.steps[0].failure_reason == INTERRUPTED
    finally:
        restarted.close()
