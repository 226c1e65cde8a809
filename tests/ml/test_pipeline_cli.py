"""``python -m ml pipeline`` boto3 subcommands against moto.

moto has no ListPipelineExecutionSteps (and crashes on AddTags for executions), so those calls,
and the execution statuses a real run goes through, are answered by ``before-call`` handlers
registered on the session the CLI is given.
"""

from __future__ import annotations

import ast
import io
import json
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from moto import mock_aws

from ml import parameters, pipeline_cli, serving_code
from ml.clock import Clock
from ml.pipeline_cli import main
from ml.sagemaker import naming
from ml.sagemaker.clients import aws_session

#: Sent on every run (``ml.sagemaker.parameters``): the deployment's, not the caller's.
POLICY = {"AccuracyThreshold": "0.8", "ModelApprovalStatus": "PendingManualApproval"}

REGION = "eu-west-1"
ROLE = "arn:aws:iam::123456789012:role/sagemaker-exec"
PIPELINE = "mlops-xgb"
GROUP = "mlops-xgb-models"
BUCKET = "mlops-artifacts"
DEFINITION = {"Version": "2020-12-01", "Parameters": [], "Steps": []}

Handler = Callable[..., Any]


class Aws:
    """A moto-backed session plus canned answers for the calls moto lacks."""

    def __init__(self) -> None:
        self.session = aws_session(REGION)
        self.sm = self.session.client("sagemaker")
        self.s3 = self.session.client("s3")
        self.calls: dict[str, list[dict[str, Any]]] = {}

    def answer(
        self, operation: str, respond: Callable[[dict[str, Any]], dict[str, Any]], status: int = 200
    ) -> None:
        def handler(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
            request = json.loads(params["body"] or b"{}")
            self.calls.setdefault(operation, []).append(request)
            return AWSResponse("https://sagemaker.local/", status, HTTPHeaders(), None), respond(request)

        # botocore uses a handler's (response, parsed) return value instead of sending the request;
        # its stubs type handlers as returning None.
        self.session.events.register(f"before-call.sagemaker.{operation}", handler)  # type: ignore[arg-type]

    def steps(self, *steps: dict[str, Any]) -> None:
        self.answer("ListPipelineExecutionSteps", lambda _: {"PipelineExecutionSteps": list(steps)})

    def statuses(self, *statuses: str, failure: str | None = None) -> None:
        queue = list(statuses)

        def describe(request: dict[str, Any]) -> dict[str, Any]:
            status = queue.pop(0) if len(queue) > 1 else queue[0]
            answer: dict[str, Any] = {
                "PipelineArn": f"arn:aws:sagemaker:{REGION}:123456789012:pipeline/{PIPELINE}",
                "PipelineExecutionArn": request["PipelineExecutionArn"],
                "PipelineExecutionStatus": status,
            }
            if failure and status == "Failed":
                answer["FailureReason"] = failure
            return answer

        self.answer("DescribePipelineExecution", describe)

    def create_pipeline(self) -> None:
        self.sm.create_pipeline(
            PipelineName=PIPELINE, PipelineDefinition=json.dumps(DEFINITION), RoleArn=ROLE
        )


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for name in ("MLOPS_PIPELINE_NAME", "SAGEMAKER_ROLE_ARN", "MLOPS_CODE_S3_PREFIX", "GITHUB_SHA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_REGION", REGION)
    with mock_aws():
        yield Aws()


def _run(aws: Aws, *argv: str, sleeps: list[float] | None = None) -> int:
    recorded = sleeps if sleeps is not None else []
    return main(list(argv), session=aws.session, clock=Clock(sleep=recorded.append))


def _start(aws: Aws, *extra: str) -> str:
    aws.answer("AddTags", lambda request: {"Tags": request["Tags"]})
    assert _run(aws, "start", "--pipeline-name", PIPELINE, *extra) == 0
    arns = aws.sm.list_pipeline_executions(PipelineName=PIPELINE)["PipelineExecutionSummaries"]
    return str(arns[0]["PipelineExecutionArn"])


# -- upsert ----------------------------------------------------------------------------------------


def test_upsert_creates_then_updates(aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = tmp_path / "v1.json"
    first.write_text(json.dumps(DEFINITION), encoding="utf-8")
    argv = ["upsert", "--pipeline-name", PIPELINE, "--role-arn", ROLE, "--definition-file"]
    assert _run(aws, *argv, str(first)) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["action"] == "created"
    assert created["pipeline_arn"].endswith(f":pipeline/{PIPELINE}")

    second = tmp_path / "v2.json"
    second.write_text(json.dumps({**DEFINITION, "Metadata": {"revision": 2}}), encoding="utf-8")
    assert _run(aws, *argv, str(second)) == 0
    assert json.loads(capsys.readouterr().out)["action"] == "updated"
    stored = aws.sm.describe_pipeline(PipelineName=PIPELINE)
    assert json.loads(stored["PipelineDefinition"])["Metadata"] == {"revision": 2}
    assert stored["RoleArn"] == ROLE


def test_upsert_builds_the_definition_when_no_file_is_given(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ml import pipeline

    seen: dict[str, Any] = {}

    def fake_definition(**kwargs: Any) -> str:
        seen.update(kwargs)
        return json.dumps(DEFINITION)

    monkeypatch.setattr(pipeline, "definition", fake_definition)
    argv = ["upsert", "--pipeline-name", PIPELINE, "--role-arn", ROLE, "--code-s3-prefix", "s3://c/code"]
    assert _run(aws, *argv, "--input-data", "s3://d/in/", "--model-package-group", GROUP) == 0
    assert json.loads(capsys.readouterr().out)["action"] == "created"
    assert seen["region"] == REGION
    assert seen["code_s3_prefix"] == "s3://c/code"
    assert seen["model_package_group"] == GROUP


def test_upsert_refuses_placeholders(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(aws, "upsert", "--pipeline-name", PIPELINE, "--role-arn", ROLE) == 2
    err = capsys.readouterr().err
    assert "--code-s3-prefix" in err and "--input-data" in err
    assert aws.sm.list_pipelines()["PipelineSummaries"] == []


def test_upsert_rejects_a_broken_definition_file(
    aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    argv = ["upsert", "--pipeline-name", PIPELINE, "--role-arn", ROLE, "--definition-file", str(broken)]
    assert _run(aws, *argv) == 2
    assert "is not valid JSON" in capsys.readouterr().err


# -- start -----------------------------------------------------------------------------------------


def test_start_passes_parameters_and_provenance(
    aws: Aws, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)  # set when this suite itself runs in CI
    monkeypatch.delenv("GITHUB_RUN_ID", raising=False)
    aws.create_pipeline()
    arn = _start(
        aws,
        "--param",
        "num_round=200",
        "--param",
        "eta=0.1",
        "--git-sha",
        "0a1b2c3",
        "--requested-by",
        "alice",
    )
    assert capsys.readouterr().out.strip() == arn
    params = aws.sm.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)["PipelineParameters"]
    # The policy parameters are sent on every run, so no definition default decides them.
    assert {p["Name"]: p["Value"] for p in params} == {"num_round": "200", "eta": "0.1", **POLICY}
    described = aws.sm.describe_pipeline_execution(PipelineExecutionArn=arn)
    assert json.loads(described["PipelineExecutionDescription"]) == {
        "git_sha": "0a1b2c3",
        "requested_by": "alice",
    }
    (tagging,) = aws.calls["AddTags"]
    assert tagging["ResourceArn"] == arn
    assert {t["Key"]: t["Value"] for t in tagging["Tags"]} == {"requested-by": "alice", "git-sha": "0a1b2c3"}


def test_start_survives_a_tagging_refusal(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.create_pipeline()
    aws.answer(
        "AddTags",
        lambda _: {"Error": {"Code": "AccessDeniedException", "Message": "not allowed to tag"}},
        status=400,
    )
    assert _run(aws, "start", "--pipeline-name", PIPELINE, "--requested-by", "bob") == 0
    captured = capsys.readouterr()
    assert captured.out.strip().startswith(
        f"arn:aws:sagemaker:{REGION}:123456789012:pipeline/{PIPELINE}/execution/"
    )
    assert "not tagged" in captured.err and "AccessDenied" in captured.err


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("num_rounds=5", "Did you mean 'num_round'?"),
        ("max_depth=deep", "is not an integer"),
        ("AccuracyThreshold=1.5", "out of range"),
        ("AccuracyThreshold=0.5", "below the minimum this deployment sets"),
        ("ModelApprovalStatus=Approved", "ModelApprovalStatus is set by the deployment, not per run"),
    ],
)
def test_start_rejects_bad_parameters_before_calling_aws(
    aws: Aws, capsys: pytest.CaptureFixture[str], param: str, message: str
) -> None:
    aws.create_pipeline()
    assert _run(aws, "start", "--pipeline-name", PIPELINE, "--param", param) == 2
    assert message in capsys.readouterr().err
    assert aws.sm.list_pipeline_executions(PipelineName=PIPELINE)["PipelineExecutionSummaries"] == []


def test_start_on_a_missing_pipeline_is_an_error(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(aws, "start", "--pipeline-name", "absent") == 2
    assert "starting pipeline 'absent' failed" in capsys.readouterr().err


def test_malformed_param_is_a_usage_error(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(aws, "start", "--param", "num_round") == 2
    assert "expected NAME=VALUE" in capsys.readouterr().err


# -- wait ------------------------------------------------------------------------------------------


def _step(name: str, status: str, **extra: Any) -> dict[str, Any]:
    return {"StepName": name, "StepStatus": status, "StartTime": datetime(2026, 1, 1, tzinfo=UTC), **extra}


def test_wait_polls_with_backoff_until_success(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    arn = f"arn:aws:sagemaker:{REGION}:123456789012:pipeline/{PIPELINE}/execution/run1"
    aws.statuses("Executing", "Executing", "Executing", "Executing", "Succeeded")
    aws.steps(_step("PreprocessData", "Succeeded"), _step("TrainModel", "Executing"))
    sleeps: list[float] = []
    argv = ["wait", "--execution-arn", arn, "--poll-interval", "2", "--max-poll-interval", "4"]
    assert _run(aws, *argv, sleeps=sleeps) == 0
    assert sleeps == [2.0, 3.0, 4.0, 4.0]
    err = capsys.readouterr().err
    assert err.count("step TrainModel: Executing") == 1  # progress printed on change only
    assert "execution Succeeded" in err


def test_wait_reports_the_failing_step(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    arn = f"arn:aws:sagemaker:{REGION}:123456789012:pipeline/{PIPELINE}/execution/run2"
    aws.statuses("Failed")
    aws.steps(
        _step("PreprocessData", "Succeeded"),
        _step("TrainModel", "Failed", FailureReason="AlgorithmError: training failed: no rows"),
    )
    assert _run(aws, "wait", "--execution-arn", arn) == 1
    err = capsys.readouterr().err
    assert "execution Failed at step TrainModel: AlgorithmError: training failed: no rows" in err


def test_wait_reports_the_fail_step_message(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    arn = f"arn:aws:sagemaker:{REGION}:123456789012:pipeline/{PIPELINE}/execution/run3"
    message = "Model accuracy 0.61 is below AccuracyThreshold 0.8; the model was not registered."
    aws.statuses("Failed", failure=message)
    aws.steps(
        _step("CheckAccuracy", "Succeeded"), _step("AccuracyBelowThreshold", "Failed", FailureReason=message)
    )
    assert _run(aws, "wait", "--execution-arn", arn) == 1
    assert f"at step AccuracyBelowThreshold: {message}" in capsys.readouterr().err


def test_wait_stopped_and_timeout_are_failures(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    arn = f"arn:aws:sagemaker:{REGION}:123456789012:pipeline/{PIPELINE}/execution/run4"
    aws.steps()
    aws.statuses("Executing")
    assert _run(aws, "wait", "--execution-arn", arn, "--timeout", "0") == 1
    assert "timed out" in capsys.readouterr().err


def test_wait_times_out_on_the_injected_clock(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    arn = f"arn:aws:sagemaker:{REGION}:123456789012:pipeline/{PIPELINE}/execution/run6"
    aws.steps()
    aws.statuses("Executing")
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    argv = [
        "wait",
        "--execution-arn",
        arn,
        "--timeout",
        "7",
        "--poll-interval",
        "2",
        "--max-poll-interval",
        "4",
    ]
    assert main(argv, session=aws.session, clock=Clock(sleep=sleep, monotonic=lambda: now[0])) == 1
    assert sleeps == [2.0, 3.0, 2.0]  # the last wait is cut to the time left
    assert "timed out after 7 s; the execution is still Executing" in capsys.readouterr().err


def test_wait_stopped_is_a_failure(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    arn = f"arn:aws:sagemaker:{REGION}:123456789012:pipeline/{PIPELINE}/execution/run5"
    aws.steps(_step("PreprocessData", "Stopped"))
    aws.statuses("Stopped")
    assert _run(aws, "wait", "--execution-arn", arn) == 1
    assert "execution Stopped" in capsys.readouterr().err


def test_wait_on_unknown_execution_is_an_error(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.steps()
    arn = f"arn:aws:sagemaker:{REGION}:123456789012:pipeline/{PIPELINE}/execution/nope"
    assert _run(aws, "wait", "--execution-arn", arn) == 2
    assert capsys.readouterr().err.startswith("error: describing")


# -- results ---------------------------------------------------------------------------------------

EVALUATION = {
    "classification_metrics": {
        "accuracy": {"value": 0.91, "standard_deviation": 0.01},
        "f1": {"value": 0.88, "standard_deviation": 0.02},
        "confusion_matrix": {"0": {"0": 10, "1": 2}, "1": {"0": 1, "1": 12}},
    }
}


def _registered_package(aws: Aws, evaluation_uri: str) -> str:
    aws.sm.create_model_package_group(ModelPackageGroupName=GROUP)
    package = aws.sm.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            "Containers": [{"Image": "xgboost:3.2-0", "ModelDataUrl": f"s3://{BUCKET}/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelMetrics={
            "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": evaluation_uri}}
        },
    )
    return str(package["ModelPackageArn"])


def _evaluation_job(aws: Aws, output_uri: str) -> str:
    job = aws.sm.create_processing_job(
        ProcessingJobName="evaluate-run",
        RoleArn=ROLE,
        AppSpecification={"ImageUri": "xgboost:3.2-0"},
        ProcessingResources={
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}
        },
        ProcessingOutputConfig={
            "Outputs": [
                {
                    "OutputName": "evaluation",
                    "S3Output": {
                        "S3Uri": output_uri,
                        "LocalPath": "/opt/ml/processing/evaluation",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
    )
    return str(job["ProcessingJobArn"])


def test_a_run_started_by_ci_records_its_repository_and_run_id(aws: Aws) -> None:
    aws.create_pipeline()
    arn = _start(aws, "--ci-repository", "acme-ml/mlops-models", "--ci-run-id", "11873920455")
    described = aws.sm.describe_pipeline_execution(PipelineExecutionArn=arn)
    description = described["PipelineExecutionDescription"]
    assert naming.execution_origin(description) == {
        "ci_repository": "acme-ml/mlops-models",
        "ci_run": "11873920455",
    }


@pytest.mark.parametrize(
    ("repository", "run_id"), [("acme/x", "12/../evil"), ("https://evil.example/x", "1"), ("a/b/c", "1")]
)
def test_start_refuses_a_ci_run_it_could_not_link_to(aws: Aws, repository: str, run_id: str) -> None:
    aws.create_pipeline()
    argv = ["start", "--pipeline-name", PIPELINE, "--ci-repository", repository, "--ci-run-id", run_id]
    assert _run(aws, *argv) != 0
    assert aws.sm.list_pipeline_executions(PipelineName=PIPELINE)["PipelineExecutionSummaries"] == []


def test_a_description_naming_a_bad_ci_run_gives_no_origin() -> None:
    bad = json.dumps({"requested_by": "a", "git_sha": None, "ci_repository": "x/y", "ci_run": "javascript:1"})
    assert naming.execution_origin(bad) == {}
    assert naming.execution_origin("not json") == {} and naming.execution_origin(None) == {}


def test_results_report_of_a_registered_run(aws: Aws, tmp_path: Path) -> None:
    aws.create_pipeline()
    arn = _start(aws, "--param", "num_round=150", "--git-sha", "feedbeef", "--requested-by", "carol")
    aws.s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    aws.s3.put_object(
        Bucket=BUCKET, Key="run/EvaluateModel/evaluation/evaluation.json", Body=json.dumps(EVALUATION)
    )
    job_arn = _evaluation_job(aws, f"s3://{BUCKET}/run/EvaluateModel/evaluation")
    package_arn = _registered_package(aws, "s3://elsewhere/ignored.json")
    aws.steps(
        _step("PreprocessData", "Succeeded"),
        _step("TrainModel", "Succeeded"),
        _step("EvaluateModel", "Succeeded", Metadata={"ProcessingJob": {"Arn": job_arn}}),
        _step("CheckAccuracy", "Succeeded", Metadata={"Condition": {"Outcome": "True"}}),
        _step("RegisterModel", "Succeeded", Metadata={"RegisterModel": {"Arn": package_arn}}),
    )
    out = tmp_path / "result.json"
    assert _run(aws, "results", "--execution-arn", arn, "--output", str(out)) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert set(report) == {
        "kind", "schema_version", "pipeline_name", "pipeline_arn", "execution_arn", "execution_id", "status",
        "failure_reason", "started_at", "ended_at", "requested_by", "git_sha", "parameters", "steps",
        "failed_step", "model_package", "metrics", "metrics_source", "warnings",
    }  # fmt: skip
    assert (report["kind"], report["schema_version"]) == ("pipeline_result", 1)
    assert report["pipeline_name"] == PIPELINE
    assert report["execution_arn"] == arn and arn.endswith("/" + report["execution_id"])
    assert report["status"] == "Succeeded" and report["failure_reason"] is None
    assert (report["requested_by"], report["git_sha"]) == ("carol", "feedbeef")
    assert report["parameters"] == {"num_round": "150", **POLICY}
    assert [s["name"] for s in report["steps"]] == [
        "PreprocessData", "TrainModel", "EvaluateModel", "CheckAccuracy", "RegisterModel",
    ]  # fmt: skip
    assert report["steps"][0]["started_at"].startswith("2026-01-01T00:00:00")
    assert report["model_package"] == {
        "arn": package_arn,
        "group": GROUP,
        "version": 1,
        "approval_status": "PendingManualApproval",
    }
    assert report["metrics"] == {"accuracy": 0.91, "f1": 0.88}
    assert report["metrics_source"] == f"s3://{BUCKET}/run/EvaluateModel/evaluation/evaluation.json"
    assert report["warnings"] == [] and report["failed_step"] is None
    assert report["ended_at"] is not None


def test_results_fall_back_to_the_package_metrics(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.create_pipeline()
    arn = _start(aws)
    capsys.readouterr()
    aws.s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    aws.s3.put_object(Bucket=BUCKET, Key="pkg/evaluation.json", Body=json.dumps(EVALUATION))
    package_arn = _registered_package(aws, f"s3://{BUCKET}/pkg/evaluation.json")
    aws.steps(_step("RegisterModel", "Succeeded", Metadata={"RegisterModel": {"Arn": package_arn}}))
    assert _run(aws, "results", "--execution-arn", arn) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["metrics"] == {"accuracy": 0.91, "f1": 0.88}
    assert report["metrics_source"] == f"s3://{BUCKET}/pkg/evaluation.json"


def test_results_of_a_failed_run_with_unreadable_metrics(
    aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.create_pipeline()
    arn = _start(aws)
    capsys.readouterr()
    job_arn = _evaluation_job(aws, "s3://missing-bucket/eval")
    reason = "Model accuracy 0.6 is below AccuracyThreshold 0.8; the model was not registered."
    aws.statuses("Failed", failure=reason)
    aws.steps(
        _step("EvaluateModel", "Succeeded", Metadata={"ProcessingJob": {"Arn": job_arn}}),
        _step("AccuracyBelowThreshold", "Failed", FailureReason=reason),
    )
    assert _run(aws, "results", "--execution-arn", arn) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "Failed" and report["failure_reason"] == reason
    assert report["failed_step"] == {"name": "AccuracyBelowThreshold", "failure_reason": reason}
    assert report["model_package"] is None
    assert report["metrics"] is None and report["metrics_source"] is None
    (warning,) = report["warnings"]
    assert "s3://missing-bucket/eval/evaluation.json" in warning


def test_results_of_unknown_execution_is_an_error(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.steps()
    arn = f"arn:aws:sagemaker:{REGION}:123456789012:pipeline/{PIPELINE}/execution/nope"
    assert _run(aws, "results", "--execution-arn", arn) == 2
    assert "error: reading" in capsys.readouterr().err


# -- upload-code -----------------------------------------------------------------------------------


def test_upload_code_puts_scripts_where_the_definition_looks(
    aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ml.pipeline import code_files

    for name in ("preprocess.py", "evaluate.py", "train.py"):
        (tmp_path / name).write_text(f"print({name!r})\n", encoding="utf-8")
    aws.s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    prefix = f"s3://{BUCKET}/code/abc"
    argv = ["upload-code", "--code-s3-prefix", prefix, "--steps-dir", str(tmp_path)]
    assert _run(aws, *argv) == 0
    assert json.loads(capsys.readouterr().out) == code_files(prefix)
    body = aws.s3.get_object(Bucket=BUCKET, Key="code/abc/preprocess.py")["Body"].read()
    assert body == b"print('preprocess.py')\n"
    archive = aws.s3.get_object(Bucket=BUCKET, Key="code/abc/sourcedir.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        assert tar.getnames() == ["train.py", "ml/__init__.py", "ml/parameters.py"]
        spec = tar.extractfile("ml/parameters.py")
        assert spec is not None and spec.read() == Path(parameters.__file__).read_bytes()
        member = tar.extractfile("train.py")
        assert member is not None and member.read() == b"print('train.py')\n"
    # Reproducible: the same script gives the same bytes (and so the same ETag).
    assert pipeline_cli.source_archive(tmp_path / "train.py") == archive
    serving = aws.s3.get_object(Bucket=BUCKET, Key="code/abc/serving-sourcedir.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(serving), mode="r:gz") as tar:
        assert sorted(tar.getnames()) == ["inference.py", "ml/__init__.py", "ml/serving.py"]
        member = tar.extractfile("inference.py")
        assert (
            member is not None
            and member.read() == (pipeline_cli.STEPS_DIR.parent / "inference.py").read_bytes()
        )
    assert serving_code.archive() == serving


def test_the_serving_archive_runs_without_the_project(tmp_path: Path, trained: tuple[Path, Any]) -> None:
    """The submit directory is self-sufficient: a fresh interpreter that cannot see this checkout imports
    inference.py from it, loads a model and scores a raw row, as the container would."""
    with tarfile.open(fileobj=io.BytesIO(serving_code.archive()), mode="r:gz") as tar:
        tar.extractall(tmp_path / "code", filter="data")
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import inference, ml.serving;"
        "assert ml.serving.__file__.startswith(sys.argv[1]), ml.serving.__file__;"
        "model = inference.model_fn(sys.argv[2]);"
        "rows = inference.input_fn(sys.argv[3], 'text/csv');"
        "print(inference.output_fn(inference.predict_fn(rows, model), 'text/csv'));"
        "print(inference.input_fn('1,2', 'text/plain'))"
    )
    row = "39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, 2174, 0, 40, United-States"  # noqa: E501
    result = subprocess.run(
        [sys.executable, "-I", "-c", script, str(tmp_path / "code"), str(trained[0]), row],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    scored, refused = result.stdout.splitlines()
    body, content_type = ast.literal_eval(scored)
    assert content_type == "text/csv" and 0.0 <= float(body) <= 1.0
    assert refused.startswith("Refusal(415, \"unsupported content type 'text/plain'")


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        ("s3://b/code", "bucket name 'b' breaks S3's naming rule (3-63 characters"),
        ("s3://mlops-artifacts", "names a bare bucket; add a prefix, e.g. s3://mlops-artifacts/mlops/code"),
    ],
)
def test_upload_code_says_what_is_wrong_with_the_prefix(
    aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str], prefix: str, message: str
) -> None:
    argv = ["upload-code", "--code-s3-prefix", prefix, "--steps-dir", str(pipeline_cli.STEPS_DIR)]
    assert _run(aws, *argv) == 2
    assert message in capsys.readouterr().err


def test_upload_code_names_missing_scripts(
    aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["upload-code", "--code-s3-prefix", f"s3://{BUCKET}/code", "--steps-dir", str(tmp_path)]
    assert _run(aws, *argv) == 2
    assert "train.py" in capsys.readouterr().err


def test_the_real_step_scripts_are_where_upload_code_expects_them() -> None:
    for name in ("preprocess.py", "evaluate.py", "train.py"):
        assert (pipeline_cli.STEPS_DIR / name).is_file(), name


def test_results_survive_an_undescribable_package(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.create_pipeline()
    arn = _start(aws)
    capsys.readouterr()
    package_arn = f"arn:aws:sagemaker:{REGION}:123456789012:model-package/{GROUP}/4"
    aws.answer(
        "DescribeModelPackage", lambda _: {"Error": {"Code": "AccessDeniedException", "Message": "no"}}, 400
    )
    aws.steps(_step("RegisterModel", "Succeeded", Metadata={"RegisterModel": {"Arn": package_arn}}))
    assert _run(aws, "results", "--execution-arn", arn) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model_package"] == {
        "arn": package_arn,
        "group": GROUP,
        "version": 4,
        "approval_status": None,
    }
    assert report["metrics"] is None
    (warning,) = report["warnings"]
    assert "could not describe model package" in warning and "AccessDenied" in warning
