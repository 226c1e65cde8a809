"""Runs pipeline executions in background threads: PreprocessData -> ... -> RegisterModel.

Every status change is committed to the state database before its event is published, so a listener
that reads the platform back always sees at least what the event announced. Stopping is cooperative,
as in SageMaker: ``Stopping`` is recorded in the database (by any process) and the run stops at the
next step boundary. At most ``max_concurrent`` runs execute at once; the rest wait in a queue.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import shutil
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ml import serving_code
from ml.platform import PIPELINE_STEPS, ApprovalStatus, ExecutionStatus, StepStatus

from . import events
from .announcer import Announcer
from .container import write_environment
from .registry import Registry
from .run_log import RunLog
from .workers import consume

log = logging.getLogger(__name__)

METRIC_NAMES = ("accuracy", "precision", "recall", "f1", "auc")
MODEL_FILE = "xgboost-model"
#: A model version's submit directory, relative to it (its container.json names it).
SUBMIT_DIRECTORY = "code"


class StepFailed(Exception):
    """A step refused to go on; the message is the step's failure reason as users see it."""


@dataclass(frozen=True)
class RunRequest:
    """A validated execution, ready to run."""

    execution_id: str
    input_path: Path
    target: str
    threshold: float
    approval_status: ApprovalStatus
    hyperparameters: Mapping[str, int | float]
    parameters: Mapping[str, str]
    requested_by: str
    git_sha: str | None
    #: where the run comes from (git state, log file), recorded in the model's lineage too
    origin: Mapping[str, str] = field(default_factory=dict)


@dataclass
class _Context:
    request: RunRequest
    workdir: Path
    outputs: dict[str, Any] = field(default_factory=dict)
    model_version: int | None = None


def execution_suffix(execution_id: str) -> str:
    return execution_id.rsplit("/", 1)[-1]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_metrics(evaluation_json: Path) -> dict[str, float]:
    """accuracy, precision, recall, f1, auc as floats from an ``evaluation.json`` report."""
    report = json.loads(evaluation_json.read_text(encoding="utf-8"))
    section = report.get("classification_metrics")
    if not isinstance(section, dict):
        raise StepFailed(f"{evaluation_json} has no classification_metrics section")
    metrics: dict[str, float] = {}
    for name in METRIC_NAMES:
        entry = section.get(name)
        value = entry.get("value") if isinstance(entry, dict) else entry
        if isinstance(value, int | float) and not isinstance(value, bool):
            metrics[name] = float(value)
    if "accuracy" not in metrics:
        raise StepFailed(f"{evaluation_json} reports no classification_metrics.accuracy.value")
    return metrics


class PipelineRunner:
    """Worker threads that take queued runs and execute their steps in order."""

    def __init__(
        self,
        *,
        registry: Registry,
        announce: Announcer,
        home: Path,
        pipeline_name: str,
        group: str,
        max_concurrent: int = 1,
    ) -> None:
        if max_concurrent < 1:
            raise ValueError(f"max_concurrent must be at least 1, not {max_concurrent}")
        self.registry = registry
        self.announce = announce
        self.home = Path(home)
        self.pipeline_name = pipeline_name
        self.group = group
        self._queue: queue.Queue[RunRequest | None] = queue.Queue()
        self._queued: set[str] = set()
        self._lock = threading.Lock()
        self._steps: dict[str, Callable[[_Context], dict[str, Any]]] = {
            "PreprocessData": self._preprocess,
            "TrainModel": self._train,
            "EvaluateModel": self._evaluate,
            "CheckAccuracy": self._check_accuracy,
            "RegisterModel": self._register,
        }
        self._workers = [
            threading.Thread(target=self._work, name=f"ml-local-pipeline-{i}", daemon=True)
            for i in range(max_concurrent)
        ]
        for worker in self._workers:
            worker.start()

    # -- queue -----------------------------------------------------------------------------------

    def submit(self, request: RunRequest) -> None:
        with self._lock:
            self._queued.add(request.execution_id)
        self._queue.put(request)

    def withdraw(self, execution_id: str) -> bool:
        """Take a run that has not started out of the queue; False when it is not waiting here."""
        with self._lock:
            if execution_id in self._queued:
                self._queued.discard(execution_id)
                return True
            return False

    def close(self, timeout: float = 120.0) -> None:
        for _ in self._workers:
            self._queue.put(None)
        for worker in self._workers:
            worker.join(timeout)
            if worker.is_alive():
                log.warning("pipeline worker %s still running after %.0f s", worker.name, timeout)

    def _work(self) -> None:
        consume(self._queue, self._take)

    def _take(self, request: RunRequest) -> None:
        with self._lock:
            if request.execution_id not in self._queued:
                return  # stopped while waiting
            self._queued.discard(request.execution_id)
        try:
            self._run(request)
        except Exception as exc:
            log.exception("pipeline execution %s crashed", request.execution_id)
            self._finish(request.execution_id, ExecutionStatus.FAILED, f"internal error: {exc}")

    # -- one execution ---------------------------------------------------------------------------

    def _run(self, request: RunRequest) -> None:
        run_log = RunLog(self.home, execution_suffix(request.execution_id))
        with run_log.capture():
            self._steps_of(request, run_log)

    def _steps_of(self, request: RunRequest, run_log: RunLog) -> None:
        eid = request.execution_id
        context = _Context(request, self.home / "artifacts" / "executions" / execution_suffix(eid))
        context.workdir.mkdir(parents=True, exist_ok=True)
        run_log.line(self.registry.clock.now(), f"run {execution_suffix(eid)} for {request.requested_by}")
        for step in PIPELINE_STEPS:
            if self.registry.get_execution(eid).status is not ExecutionStatus.EXECUTING:
                self._finish(eid, ExecutionStatus.STOPPED)
                return
            started = self.registry.clock.now()
            self.registry.set_step(eid, step, StepStatus.EXECUTING, started_at=started)
            run_log.line(started, f"{step}: started")
            self.announce.step(eid, step, StepStatus.EXECUTING, StepStatus.STARTING, started)
            try:
                metadata = self._steps[step](context)
            except Exception as exc:
                reason = str(exc) or type(exc).__name__
                if not isinstance(exc, StepFailed):
                    log.warning("step %s of %s failed", step, eid, exc_info=True)
                ended = self.registry.clock.now()
                self.registry.set_step(eid, step, StepStatus.FAILED, ended_at=ended, failure_reason=reason)
                run_log.line(ended, f"{step}: failed: {reason}")
                self.announce.step(eid, step, StepStatus.FAILED, StepStatus.EXECUTING, started, ended, reason)
                self._finish(eid, ExecutionStatus.FAILED, f"{step}: {reason}")
                return
            ended = self.registry.clock.now()
            self.registry.set_step(eid, step, StepStatus.SUCCEEDED, ended_at=ended)
            run_log.line(ended, f"{step}: succeeded")
            self.announce.step(
                eid, step, StepStatus.SUCCEEDED, StepStatus.EXECUTING, started, ended, None, metadata
            )
        run_log.line(self.registry.clock.now(), f"run succeeded: registered v{context.model_version}")
        self._finish(eid, ExecutionStatus.SUCCEEDED, model_version=context.model_version)

    def _finish(
        self,
        execution_id: str,
        status: ExecutionStatus,
        reason: str | None = None,
        model_version: int | None = None,
    ) -> None:
        ended = self.registry.clock.now()
        previous = self.registry.set_execution_status(
            execution_id,
            status,
            only_from=(ExecutionStatus.EXECUTING, ExecutionStatus.STOPPING),
            ended_at=ended,
            failure_reason=reason,
            model_version=model_version,
        )
        if previous is None:
            return  # already terminal (e.g. marked by another process)
        self.announce.execution(execution_id, status, previous)

    def _job_arn(self, context: _Context, kind: str, step: str) -> dict[str, Any]:
        name = f"pipelines-{execution_suffix(context.request.execution_id)}-{step.lower()}"
        return {kind: {"arn": events.arn(f"{kind.replace('Job', '-job').lower()}/{name}")}}

    # -- the steps -------------------------------------------------------------------------------

    def _preprocess(self, context: _Context) -> dict[str, Any]:
        from ml.steps import preprocess

        summary = preprocess.run(
            context.request.input_path, context.workdir / "preprocess", target=context.request.target
        )
        context.outputs["dataset"] = summary
        return self._job_arn(context, "processingJob", "PreprocessData")

    def _train(self, context: _Context) -> dict[str, Any]:
        from ml.steps import train

        data = context.workdir / "preprocess"
        context.outputs["training"] = train.run(
            data / "train",
            data / "validation",
            context.workdir / "model",
            dict(context.request.hyperparameters),
            features_dir=data / "features",
        )
        return self._job_arn(context, "trainingJob", "TrainModel")

    def _evaluate(self, context: _Context) -> dict[str, Any]:
        from ml.steps import evaluate

        evaluate.run(
            context.workdir / "model", context.workdir / "preprocess" / "test", context.workdir / "evaluation"
        )
        context.outputs["metrics"] = read_metrics(context.workdir / "evaluation" / "evaluation.json")
        return self._job_arn(context, "processingJob", "EvaluateModel")

    def _check_accuracy(self, context: _Context) -> dict[str, Any]:
        accuracy = float(context.outputs["metrics"]["accuracy"])
        threshold = context.request.threshold
        if accuracy < threshold:
            raise StepFailed(f"accuracy {accuracy:.4f} is below AccuracyThreshold {threshold:g}")
        return {"condition": {"outcome": "True"}}

    def _register(self, context: _Context) -> dict[str, Any]:
        request = context.request
        models = self.home / "artifacts" / "models"
        models.mkdir(parents=True, exist_ok=True)
        staging = models / f".staging-{execution_suffix(request.execution_id)}"
        if staging.exists():
            shutil.rmtree(staging)
        shutil.copytree(context.workdir / "model", staging)
        shutil.copyfile(context.workdir / "evaluation" / "evaluation.json", staging / "evaluation.json")
        shutil.copytree(context.workdir / "preprocess" / "baseline", staging / "baseline")
        shutil.copytree(context.workdir / "preprocess" / "features", staging / "features")
        # Script mode, as the SageMaker pipeline registers it: the serving code beside the model.
        serving_code.write_directory(staging / SUBMIT_DIRECTORY)
        write_environment(staging, serving_code.environment(SUBMIT_DIRECTORY))
        artifact_sha256 = sha256_file(staging / MODEL_FILE)
        dataset = context.outputs["dataset"]
        lineage = {
            "execution_id": request.execution_id,
            "pipeline": self.pipeline_name,
            "requested_by": request.requested_by,
            **request.origin,
            "git_sha": request.git_sha or "",
            "dataset_sha256": str(dataset.get("dataset_sha256", "")),
            # the rows behind the registered accuracy, to set beside staging validation's sample
            "test_rows": str(dataset.get("test_rows", "")),
            "train_rows": str(dataset.get("train_rows", "")),
            "validation_rows": str(dataset.get("validation_rows", "")),
            "input_data": str(request.input_path),
            "target": request.target,
            "threshold": f"{request.threshold:g}",
            "parameters": json.dumps(dict(request.parameters), sort_keys=True),
            "hyperparameters": json.dumps(dict(request.hyperparameters), sort_keys=True),
        }

        def place(version: int) -> str:
            target = models / f"v{version}"
            if target.exists():  # files of an insert that never committed: no row names them
                shutil.rmtree(target)
            staging.rename(target)
            return target.as_uri() + "/"

        package = self.registry.add_model_package(
            self.group,
            approval_status=request.approval_status,
            metrics=context.outputs["metrics"],
            artifact_sha256=artifact_sha256,
            lineage=lineage,
            place=place,
        )
        context.model_version = package.version
        self.announce.model_package(package, package.created_at)
        return {"registerModel": {"arn": package.arn}}
