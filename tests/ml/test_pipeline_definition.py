"""The SageMaker pipeline definition: built offline, deterministic, and shaped as the bot expects."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ml import parameters as spec
from ml import pipeline
from ml.pipeline.sdk import offline_environment
from ml.sagemaker.parameters import PIPELINE_PARAMETERS

REPO = Path(__file__).resolve().parents[2]
ARGS: dict[str, str] = {
    "pipeline_name": "mlops-xgb-test",
    "role_arn": "arn:aws:iam::111122223333:role/sagemaker-exec",
    "region": "eu-west-1",
    "code_s3_prefix": "s3://code-bucket/pipelines/code/",
    "model_package_group": "mlops-xgb-models",
    "default_input_data": "s3://data-bucket/training/",
}
EU_WEST_1_ECR = "141502667606.dkr.ecr.eu-west-1.amazonaws.com"


class NetworkBlocked:
    """Makes every socket connection and DNS lookup fail, recording the attempts."""

    def __init__(self) -> None:
        self.attempts: list[str] = []
        self.threads: list[str] = []

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        self.attempts.append(repr(args))
        raise OSError("network access is blocked in this test")

    @staticmethod
    def _wrap_start(recorder: list[str], original: Any) -> Any:
        def start(thread: threading.Thread) -> None:
            recorder.append(thread.name)
            original(thread)

        return start

    def patches(self, mp: pytest.MonkeyPatch) -> None:
        # A bound method is not re-bound as a class attribute: calls arrive without the socket.
        mp.setattr(socket.socket, "connect", self._refuse)
        mp.setattr(socket.socket, "connect_ex", self._refuse)
        mp.setattr(socket, "create_connection", self._refuse)
        mp.setattr(socket, "getaddrinfo", self._refuse)
        mp.setattr(threading.Thread, "start", self._wrap_start(self.threads, threading.Thread.start))


@pytest.fixture(scope="module")
def offline() -> Iterator[NetworkBlocked]:
    blocker = NetworkBlocked()
    with pytest.MonkeyPatch.context() as mp:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
            mp.delenv(name, raising=False)
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
        mp.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
        blocker.patches(mp)
        yield blocker


@pytest.fixture(scope="module")
def text(offline: NetworkBlocked) -> str:
    return pipeline.definition(**ARGS)


@pytest.fixture(scope="module")
def doc(text: str) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def _step(doc: dict[str, Any], name: str) -> dict[str, Any]:
    for step in doc["Steps"]:
        if step["Name"] == name:
            return dict(step)
        if step["Type"] == "Condition":
            for branch in ("IfSteps", "ElseSteps"):
                for inner in step["Arguments"][branch]:
                    if inner["Name"] == name:
                        return dict(inner)
    raise AssertionError(f"no step {name}")


def _references(node: Any) -> set[str]:
    """Every ``{"Get": ...}`` reference inside a JSON node."""
    found: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("Get"), str):
            found.add(node["Get"])
        for value in node.values():
            found |= _references(value)
    elif isinstance(node, list):
        for value in node:
            found |= _references(value)
    return found


def test_builds_offline_without_any_network_or_telemetry(text: str, offline: NetworkBlocked) -> None:
    assert json.loads(text)["Version"] == "2020-12-01"
    assert offline.attempts == []
    assert "sagemaker-telemetry" not in offline.threads
    with pytest.raises(OSError, match="blocked"):  # the blocker is really in place
        socket.create_connection(("sagemaker.eu-west-1.amazonaws.com", 443))
    assert len(offline.attempts) == 1
    offline.attempts.clear()


def test_offline_environment_is_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    monkeypatch.delenv("SAGEMAKER_VALIDATE_ROLE", raising=False)
    with offline_environment("eu-west-1"):
        assert os.environ["AWS_DEFAULT_REGION"] == "eu-west-1"
        assert os.environ["SAGEMAKER_VALIDATE_ROLE"] == "false"
    assert os.environ["AWS_DEFAULT_REGION"] == "ap-south-1"
    assert "SAGEMAKER_VALIDATE_ROLE" not in os.environ


def test_no_generated_names_or_timestamps(text: str) -> None:
    for field in ("TrainingJobName", "ProcessingJobName", "ModelPackageName", "CertifyForMarketplace"):
        assert field not in text
    assert not re.search(r"\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}", text), "an SDK timestamp leaked in"


def test_parameters_types_and_defaults(doc: dict[str, Any]) -> None:
    params = {p["Name"]: (p["Type"], p["DefaultValue"]) for p in doc["Parameters"]}
    assert params == {
        "InputData": ("String", "s3://data-bucket/training/"),
        "TargetColumn": ("String", "income"),
        "ProcessingInstanceType": ("String", "ml.m5.xlarge"),
        "TrainingInstanceType": ("String", "ml.m5.xlarge"),
        "AccuracyThreshold": ("Float", 0.8),
        "ModelApprovalStatus": ("String", "PendingManualApproval"),
        "num_round": ("Integer", 100),
        "max_depth": ("Integer", 5),
        "eta": ("Float", 0.2),
        "subsample": ("Float", 0.8),
        "colsample_bytree": ("Float", 0.8),
        "min_child_weight": ("Float", 1.0),
        "gamma": ("Float", 0.0),
        "lambda": ("Float", 1.0),
        "alpha": ("Float", 0.0),
    }
    approval = next(p for p in doc["Parameters"] if p["Name"] == "ModelApprovalStatus")
    assert approval["EnumValues"] == ["PendingManualApproval", "Approved"]


def test_parameters_are_the_spec(doc: dict[str, Any]) -> None:
    declared = {p["Name"]: p for p in doc["Parameters"]}
    expected = spec.declared(spec.SAGEMAKER)
    assert list(declared) == list(expected)
    for name, parameter in expected.items():
        assert declared[name]["Type"] == parameter.pipeline_type, name
        if name != "InputData":  # its default is deployment configuration
            assert declared[name]["DefaultValue"] == parameter.default, name
        assert tuple(declared[name].get("EnumValues", ())) == parameter.choices, name
    # What callers may set is the spec minus policy: ModelApprovalStatus is the deployment's.
    assert set(PIPELINE_PARAMETERS) == set(expected) - {"ModelApprovalStatus"}


def test_step_graph(doc: dict[str, Any]) -> None:
    assert [s["Name"] for s in doc["Steps"]] == [
        "PreprocessData",
        "TrainModel",
        "EvaluateModel",
        "CheckAccuracy",
    ]
    assert [s["Type"] for s in doc["Steps"]] == ["Processing", "Training", "Processing", "Condition"]
    train, evaluate, check = (_step(doc, n) for n in ("TrainModel", "EvaluateModel", "CheckAccuracy"))
    assert {r.split(".")[1] for r in _references(train) if r.startswith("Steps.")} == {"PreprocessData"}
    assert {r.split(".")[1] for r in _references(evaluate) if r.startswith("Steps.")} == {
        "PreprocessData",
        "TrainModel",
    }
    assert [s["Name"] for s in check["Arguments"]["IfSteps"]] == ["RegisterModel"]
    assert [(s["Name"], s["Type"]) for s in check["Arguments"]["ElseSteps"]] == [
        ("AccuracyBelowThreshold", "Fail")
    ]
    assert _step(doc, "RegisterModel")["Type"] == "RegisterModel"


def test_accuracy_condition(doc: dict[str, Any]) -> None:
    (condition,) = _step(doc, "CheckAccuracy")["Arguments"]["Conditions"]
    assert condition["Type"] == "GreaterThanOrEqualTo"
    assert condition["LeftValue"] == {
        "Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.EvaluateModel.PropertyFiles.EvaluationReport"},
            "Path": "classification_metrics.accuracy.value",
        }
    }
    assert condition["RightValue"] == {"Get": "Parameters.AccuracyThreshold"}
    assert _step(doc, "EvaluateModel")["PropertyFiles"] == [
        {"PropertyFileName": "EvaluationReport", "OutputName": "evaluation", "FilePath": "evaluation.json"}
    ]


def test_registration(doc: dict[str, Any]) -> None:
    args = _step(doc, "RegisterModel")["Arguments"]
    assert args["ModelPackageGroupName"] == "mlops-xgb-models"
    assert args["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}
    spec = args["InferenceSpecification"]
    assert spec["SupportedContentTypes"] == ["text/csv", "application/json"]
    assert spec["SupportedResponseMIMETypes"] == ["text/csv", "application/json"]
    assert spec["SupportedRealtimeInferenceInstanceTypes"] == ["ml.m5.large", "ml.m5.xlarge"]
    (container,) = spec["Containers"]
    assert container["Image"] == f"{EU_WEST_1_ECR}/sagemaker-xgboost:3.2-0"
    assert container["ModelDataUrl"] == {"Get": "Steps.TrainModel.ModelArtifacts.S3ModelArtifacts"}
    # Script mode: the container imports inference.py from the archive upload-code puts there.
    assert container["Environment"] == {
        "SAGEMAKER_PROGRAM": "inference.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": "s3://code-bucket/pipelines/code/serving-sourcedir.tar.gz",
        "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
    }
    statistics = args["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics["ContentType"] == "application/json"
    assert statistics["S3Uri"] == {
        "Std:Join": {
            "On": "/",
            "Values": [
                {"Get": "Steps.EvaluateModel.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri"},
                "evaluation.json",
            ],
        }
    }
    assert args["CustomerMetadataProperties"]["execution_id"] == {"Get": "Execution.PipelineExecutionId"}


def test_fail_message_names_accuracy_and_threshold(doc: dict[str, Any]) -> None:
    message = _step(doc, "AccuracyBelowThreshold")["Arguments"]["ErrorMessage"]["Std:Join"]
    texts = [v for v in message["Values"] if isinstance(v, str)]
    assert "".join(texts).startswith("Model accuracy ")
    assert " is below AccuracyThreshold " in texts
    assert {"Get": "Parameters.AccuracyThreshold"} in message["Values"]
    assert any("Std:JsonGet" in v for v in message["Values"] if isinstance(v, dict))


def test_training_runs_train_py_in_script_mode(doc: dict[str, Any]) -> None:
    args = _step(doc, "TrainModel")["Arguments"]
    assert args["AlgorithmSpecification"]["TrainingImage"] == f"{EU_WEST_1_ECR}/sagemaker-xgboost:3.2-0"
    hp = args["HyperParameters"]
    for name in spec.HYPERPARAMETERS:
        assert hp[name] == {"Std:Join": {"On": "", "Values": [{"Get": f"Parameters.{name}"}]}}
    assert hp["sagemaker_program"] == "train.py"
    assert hp["sagemaker_submit_directory"] == "s3://code-bucket/pipelines/code/sourcedir.tar.gz"
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in args["InputDataConfig"]}
    assert channels == {
        name: {"Get": f"Steps.PreprocessData.ProcessingOutputConfig.Outputs['{name}'].S3Output.S3Uri"}
        for name in ("train", "validation", "features")
    }
    assert args["ResourceConfig"]["InstanceType"] == {"Get": "Parameters.TrainingInstanceType"}
    assert args["RoleArn"] == ARGS["role_arn"]


def test_processing_steps(doc: dict[str, Any]) -> None:
    pre = _step(doc, "PreprocessData")["Arguments"]
    assert pre["AppSpecification"] == {
        "ImageUri": f"{EU_WEST_1_ECR}/sagemaker-scikit-learn:1.9-0-cpu-py3",
        "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/preprocess.py"],
        "ContainerArguments": [
            "--target",
            {"Get": "Parameters.TargetColumn"},
            "--deps",
            "/opt/ml/processing/deps",
        ],
    }
    inputs = {i["InputName"]: i["S3Input"] for i in pre["ProcessingInputs"]}
    assert inputs["input"]["S3Uri"] == {"Get": "Parameters.InputData"}
    assert inputs["input"]["LocalPath"] == "/opt/ml/processing/input"
    assert inputs["code"]["S3Uri"] == "s3://code-bucket/pipelines/code/preprocess.py"
    outputs = {o["OutputName"]: o["S3Output"] for o in pre["ProcessingOutputConfig"]["Outputs"]}
    assert {name: o["LocalPath"] for name, o in outputs.items()} == {
        name: f"/opt/ml/processing/{name}" for name in ("train", "validation", "test", "baseline", "features")
    }
    assert outputs["train"]["S3Uri"]["Std:Join"]["Values"][:3] == ["s3:/", "code-bucket", "mlops-xgb-test"]
    assert pre["ProcessingResources"]["ClusterConfig"]["InstanceType"] == {
        "Get": "Parameters.ProcessingInstanceType"
    }

    ev = _step(doc, "EvaluateModel")["Arguments"]
    assert ev["AppSpecification"]["ContainerEntrypoint"] == [
        "python3",
        "/opt/ml/processing/input/code/evaluate.py",
    ]
    ev_inputs = {i["InputName"]: i["S3Input"] for i in ev["ProcessingInputs"]}
    assert ev_inputs["model"]["LocalPath"] == "/opt/ml/processing/model"
    assert ev_inputs["model"]["S3Uri"] == {"Get": "Steps.TrainModel.ModelArtifacts.S3ModelArtifacts"}
    assert ev_inputs["test"]["LocalPath"] == "/opt/ml/processing/test"
    assert ev_inputs["code"]["S3Uri"] == "s3://code-bucket/pipelines/code/evaluate.py"
    (output,) = ev["ProcessingOutputConfig"]["Outputs"]
    assert (output["OutputName"], output["S3Output"]["LocalPath"]) == (
        "evaluation",
        "/opt/ml/processing/evaluation",
    )


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ({"role_arn": "sagemaker-role"}, "role ARN"),
        ({"code_s3_prefix": "s3://code-bucket"}, "names a bare bucket; add a prefix"),
        ({"code_s3_prefix": "s3://code-bucket/"}, "names a bare bucket; add a prefix"),
        ({"code_s3_prefix": "/local/code"}, "code S3 prefix '/local/code' is invalid: expected s3://"),
        ({"code_s3_prefix": "s3://b/code"}, r"bucket name 'b' breaks S3's naming rule \(3-63 characters"),
        ({"code_s3_prefix": "s3://Code_Bucket/code"}, "bucket name 'Code_Bucket' breaks S3's naming rule"),
        ({"region": "Europe"}, "region"),
        ({"pipeline_name": "bad_name!"}, "pipeline name"),
        ({"model_package_group": "-x"}, "model package group"),
        ({"default_input_data": "data/train.csv"}, "default input data"),
    ],
)
def test_invalid_arguments_are_named(override: dict[str, str], fragment: str) -> None:
    with pytest.raises(pipeline.PipelineConfigError, match=fragment):
        pipeline.build_pipeline(**{**ARGS, **override})


def test_code_files_layout() -> None:
    assert pipeline.code_files("s3://b/p/") == {
        "preprocess.py": "s3://b/p/preprocess.py",
        "evaluate.py": "s3://b/p/evaluate.py",
        "sourcedir.tar.gz": "s3://b/p/sourcedir.tar.gz",
        "serving-sourcedir.tar.gz": "s3://b/p/serving-sourcedir.tar.gz",
        "deps/ml/__init__.py": "s3://b/p/deps/ml/__init__.py",
        "deps/ml/drift/__init__.py": "s3://b/p/deps/ml/drift/__init__.py",
        "deps/ml/drift/baseline.py": "s3://b/p/deps/ml/drift/baseline.py",
    }


def test_cli_builds_the_same_definition_in_a_fresh_offline_interpreter(text: str, tmp_path: Path) -> None:
    """The second build: ``python -m ml.pipeline_cli definition`` configured from flags and the
    environment, in a new interpreter whose sockets are disabled before anything is imported."""
    (tmp_path / "sitecustomize.py").write_text(
        textwrap.dedent(
            """
            import socket, sys

            def _refuse(*args, **kwargs):
                sys.stderr.write("NETWORK ATTEMPT %r\\n" % (args[1:],))
                raise OSError("network access is blocked")

            socket.socket.connect = _refuse
            socket.socket.connect_ex = _refuse
            socket.create_connection = _refuse
            socket.getaddrinfo = _refuse
            """
        ),
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.startswith("MLOPS_")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO)]),
        AWS_REGION=ARGS["region"],
        AWS_CONFIG_FILE="/nonexistent/config",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent/credentials",
        SAGEMAKER_ROLE_ARN=ARGS["role_arn"],
        MLOPS_CODE_S3_PREFIX=ARGS["code_s3_prefix"],
        MLOPS_MODEL_PACKAGE_GROUP=ARGS["model_package_group"],
        MLOPS_INPUT_DATA=ARGS["default_input_data"],
    )
    out = tmp_path / "out" / "definition.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ml.pipeline_cli",
            "definition",
            "--pipeline-name",
            ARGS["pipeline_name"],
            "--output",
            str(out),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "NETWORK ATTEMPT" not in proc.stderr
    assert proc.stdout == ""
    # Identical JSON from another process: no dependence on the clock, hash seed or build order.
    assert out.read_text(encoding="utf-8") == text


def test_importing_the_modules_does_not_import_the_sdk() -> None:
    code = (
        "import sys, ml.pipeline, ml.pipeline_cli\n"
        "loaded = sorted(m for m in sys.modules if m == 'sagemaker' or m.startswith('sagemaker.'))\n"
        "print(loaded)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert proc.stdout.strip() == "[]"
