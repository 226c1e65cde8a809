"""``python -m ml pipeline ...``: build, publish, run and report on the SageMaker training pipeline.

Subcommands::

    definition   print the pipeline definition JSON (offline; needs the ``pipeline`` extra)
    upsert       create or update the pipeline in SageMaker (builds the definition unless
                 --definition-file is given)
    upload-code  upload the step scripts and the model's serving code to the code prefix the definition
                 points at
    start        start an execution; prints its ARN
    wait         poll an execution until it ends; exit 0 if it succeeded, 1 if not
    results      the execution's "pipeline result" report (JSON, see below)

Only ``definition`` and ``upsert`` (without --definition-file) import the SageMaker SDK; the other
subcommands need boto3 alone.

Exit codes: 0 success; 1 the execution failed, was stopped, or did not finish within --timeout;
2 bad arguments or configuration, or an AWS call failed.

Options default from the environment so CI and a laptop need no flags: MLOPS_PIPELINE_NAME,
SAGEMAKER_ROLE_ARN, AWS_REGION / AWS_DEFAULT_REGION, MLOPS_CODE_S3_PREFIX,
MLOPS_MODEL_PACKAGE_GROUP, MLOPS_INPUT_DATA, MLOPS_ARTIFACT_BUCKET. ``definition`` falls back to
placeholders so it works with no configuration at all.

The ``results`` report (``kind`` "pipeline_result", ``schema_version`` 1), posted by CI to the bot::

    {
      "kind": "pipeline_result",
      "schema_version": 1,
      "pipeline_name": "mlops-xgboost",
      "pipeline_arn": "arn:aws:sagemaker:...:pipeline/mlops-xgboost",
      "execution_arn": "arn:aws:sagemaker:...:pipeline/mlops-xgboost/execution/abc123",
      "execution_id": "abc123",
      "status": "Succeeded",                 # Executing | Stopping | Stopped | Failed | Succeeded
      "failure_reason": null,                # execution-level reason, else the failed step's
      "started_at": "2026-11-26T04:00:00+00:00",
      "ended_at": "2026-11-26T04:21:00+00:00",   # null while not finished
      "requested_by": "alice", "git_sha": "0123abcd",  # from the execution description
      "parameters": {"InputData": "s3://...", "num_round": "100", ...},  # as SageMaker recorded them
      "steps": [{"name": "PreprocessData", "status": "Succeeded", "started_at": ..., "ended_at": ...,
                 "failure_reason": null}, ...],  # in start order; unstarted steps are absent
      "failed_step": null,                   # or {"name": ..., "failure_reason": ...}
      "model_package": {"arn": "...", "group": "mlops-xgboost", "version": 7,
                        "approval_status": "PendingManualApproval"},  # null if nothing registered
      "metrics": {"accuracy": 0.91, "precision": 0.88, ...},  # classification_metrics.*.value
      "metrics_source": "s3://.../evaluation.json",  # null when no evaluation.json could be found
      "warnings": []                         # what could not be read, e.g. an S3 access error
    }
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import sys
import tarfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ml.platform import InvalidRequest
from ml.sagemaker import naming
from ml.sagemaker.parameters import validate_parameters

# boto3 clients are typed loosely: the per-service stub packages are not a dependency.
SageMakerClient = Any
S3Client = Any

logger = logging.getLogger("ml.pipeline_cli")

EXIT_OK: Final = 0
EXIT_RUN_FAILED: Final = 1
EXIT_ERROR: Final = 2

RESULT_KIND: Final = "pipeline_result"
RESULT_SCHEMA_VERSION: Final = 1

DEFAULT_PIPELINE_NAME: Final = "mlops-xgboost"
DEFAULT_MODEL_PACKAGE_GROUP: Final = "mlops-xgboost"
PLACEHOLDER_REGION: Final = "us-east-1"
PLACEHOLDER_ROLE_ARN: Final = "arn:aws:iam::123456789012:role/mlops-sagemaker-execution"
PLACEHOLDER_CODE_PREFIX: Final = "s3://mlops-artifacts-123456789012/pipeline-code"
PLACEHOLDER_INPUT_DATA: Final = "s3://mlops-data-123456789012/training/"

STEPS_DIR: Final = Path(__file__).resolve().parent / "steps"

_BOTO_CONFIG: Final = Config(
    retries={"mode": "standard", "max_attempts": 5},
    user_agent_extra="mlops-bot-pipeline-cli",
)
_TERMINAL: Final = frozenset({"Succeeded", "Failed", "Stopped"})


class CliError(Exception):
    """A failure reported as ``error: <message>`` with exit code 2."""


# -- argument parsing ------------------------------------------------------------------------------


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def _add_target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pipeline-name",
        default=_env("MLOPS_PIPELINE_NAME") or DEFAULT_PIPELINE_NAME,
        help="pipeline name (env MLOPS_PIPELINE_NAME; default %(default)s)",
    )
    parser.add_argument(
        "--region",
        default=_env("AWS_REGION", "AWS_DEFAULT_REGION"),
        help="AWS region (env AWS_REGION / AWS_DEFAULT_REGION)",
    )


def _add_definition_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--role-arn",
        default=_env("SAGEMAKER_ROLE_ARN"),
        help="execution role of the pipeline and its jobs (env SAGEMAKER_ROLE_ARN)",
    )
    parser.add_argument(
        "--code-s3-prefix",
        default=_env("MLOPS_CODE_S3_PREFIX"),
        help="s3://bucket/prefix holding the step scripts (env MLOPS_CODE_S3_PREFIX)",
    )
    parser.add_argument(
        "--model-package-group",
        default=_env("MLOPS_MODEL_PACKAGE_GROUP") or DEFAULT_MODEL_PACKAGE_GROUP,
        help="model package group RegisterModel registers into (env MLOPS_MODEL_PACKAGE_GROUP)",
    )
    parser.add_argument(
        "--input-data",
        default=_env("MLOPS_INPUT_DATA"),
        help="default of the InputData parameter, an s3:// prefix (env MLOPS_INPUT_DATA)",
    )
    parser.add_argument(
        "--default-bucket",
        default=_env("MLOPS_ARTIFACT_BUCKET"),
        help="bucket for step outputs (env MLOPS_ARTIFACT_BUCKET; default: the code prefix's bucket)",
    )


def _key_value(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative number of seconds, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ml pipeline", description="Manage the SageMaker training pipeline."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show SDK and AWS log messages")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    definition = commands.add_parser("definition", help="print the pipeline definition JSON (offline)")
    _add_target(definition)
    _add_definition_options(definition)
    definition.add_argument("--output", type=Path, help="write the JSON to this file instead of stdout")

    upsert = commands.add_parser("upsert", help="create or update the pipeline in SageMaker")
    _add_target(upsert)
    _add_definition_options(upsert)
    upsert.add_argument(
        "--definition-file",
        type=Path,
        help="use this definition JSON instead of building one (no SDK needed)",
    )

    upload = commands.add_parser("upload-code", help="upload the step scripts to the code prefix")
    upload.add_argument("--region", default=_env("AWS_REGION", "AWS_DEFAULT_REGION"), help="AWS region")
    upload.add_argument("--code-s3-prefix", default=_env("MLOPS_CODE_S3_PREFIX"), help="s3://bucket/prefix")
    upload.add_argument("--steps-dir", type=Path, default=STEPS_DIR, help="directory of the step scripts")

    start = commands.add_parser("start", help="start an execution and print its ARN")
    _add_target(start)
    start.add_argument(
        "--param",
        action="append",
        type=_key_value,
        default=[],
        metavar="NAME=VALUE",
        help="override a pipeline parameter (repeatable), e.g. --param num_round=200",
    )
    start.add_argument("--git-sha", default=_env("GITHUB_SHA"), help="commit the run is for (env GITHUB_SHA)")
    start.add_argument(
        "--requested-by",
        default=_env("MLOPS_REQUESTED_BY", "GITHUB_ACTOR", "USER") or "ci",
        help="who asked for the run (env MLOPS_REQUESTED_BY / GITHUB_ACTOR / USER)",
    )

    wait = commands.add_parser("wait", help="wait for an execution to finish")
    wait.add_argument("--execution-arn", required=True)
    wait.add_argument("--region", default=_env("AWS_REGION", "AWS_DEFAULT_REGION"), help="AWS region")
    wait.add_argument("--timeout", type=_seconds, default=4 * 3600.0, help="seconds (default 4 h)")
    wait.add_argument("--poll-interval", type=_seconds, default=10.0, help="first poll delay (s)")
    wait.add_argument("--max-poll-interval", type=_seconds, default=60.0, help="longest delay (s)")

    results = commands.add_parser("results", help="print the execution's pipeline result report")
    results.add_argument("--execution-arn", required=True)
    results.add_argument("--region", default=_env("AWS_REGION", "AWS_DEFAULT_REGION"), help="AWS region")
    results.add_argument("--output", type=Path, help="write the JSON to this file instead of stdout")
    return parser


# -- plumbing --------------------------------------------------------------------------------------


class _QuietSdk(logging.Filter):
    """Drops the SDK's chatty records: it logs INFO/DEBUG and per-step WARNINGs on every build."""

    def filter(self, record: logging.LogRecord) -> bool:
        noisy = record.name.split(".", 1)[0] in {"sagemaker", "botocore", "boto3", "urllib3"}
        return not noisy or record.levelno >= logging.ERROR


def _configure_logging(verbose: bool) -> None:
    # Installed before the SDK is imported, so its import-time ``basicConfig`` calls are no-ops.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO if verbose else logging.WARNING)
    if not verbose:
        handler.addFilter(_QuietSdk())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    _progress(f"wrote {output}")


@contextlib.contextmanager
def aws(action: str) -> Iterator[None]:
    """Turns boto errors into a CliError naming ``action``."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "Error")
        raise CliError(f"{action} failed: {code}: {error.get('Message', str(exc))}") from exc
    except BotoCoreError as exc:
        raise CliError(f"{action} failed: {exc}") from exc


class _Aws:
    """The boto3 clients of one command, in the requested region."""

    def __init__(self, region: str | None, session: boto3.Session | None) -> None:
        self.session = session if session is not None else boto3.Session()
        self.region = region or self.session.region_name
        if not self.region:
            raise CliError("no AWS region: pass --region or set AWS_REGION")

    def sagemaker(self) -> SageMakerClient:
        return self.session.client("sagemaker", region_name=self.region, config=_BOTO_CONFIG)

    def s3(self) -> S3Client:
        return self.session.client("s3", region_name=self.region, config=_BOTO_CONFIG)


def _is_not_found(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    message = str(error.get("Message", "")).lower()
    code = str(error.get("Code", ""))
    return code in {"ResourceNotFound", "ResourceNotFoundException"} or (
        code == "ValidationException" and ("not find" in message or "does not exist" in message)
    )


def _iso(value: object) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


def _split_s3(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise CliError(f"not an s3://bucket/key URI: {uri!r}")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key


# -- definition / upsert ---------------------------------------------------------------------------


def _definition_json(args: argparse.Namespace, *, placeholders: bool) -> str:
    """Build the definition; ``placeholders`` lets unconfigured options fall back to examples."""
    missing = [
        flag
        for flag, value in (
            ("--role-arn", args.role_arn),
            ("--code-s3-prefix", args.code_s3_prefix),
            ("--input-data", args.input_data),
            ("--region", args.region),
        )
        if not value
    ]
    if missing and not placeholders:
        raise CliError(f"missing {', '.join(missing)} (or the matching environment variables)")
    from ml import pipeline  # the SDK itself is imported (lazily) by pipeline.definition()

    # Stray SDK prints must not corrupt the JSON on stdout.
    with contextlib.redirect_stdout(sys.stderr):
        try:
            return pipeline.definition(
                pipeline_name=args.pipeline_name,
                role_arn=args.role_arn or PLACEHOLDER_ROLE_ARN,
                region=args.region or PLACEHOLDER_REGION,
                code_s3_prefix=args.code_s3_prefix or PLACEHOLDER_CODE_PREFIX,
                model_package_group=args.model_package_group,
                default_input_data=args.input_data or PLACEHOLDER_INPUT_DATA,
                default_bucket=args.default_bucket,
            )
        except pipeline.PipelineConfigError as exc:
            raise CliError(str(exc)) from exc
        except ImportError as exc:  # the SDK is an optional extra
            raise CliError(
                f"building the definition needs the SageMaker SDK ({exc}); install the extra: "
                "pip install 'mlops-bot[pipeline]'"
            ) from exc


def _cmd_definition(args: argparse.Namespace, session: boto3.Session | None) -> int:
    _emit(_definition_json(args, placeholders=True), args.output)
    return EXIT_OK


def _cmd_upsert(args: argparse.Namespace, session: boto3.Session | None) -> int:
    if not args.role_arn:
        raise CliError("missing --role-arn (or SAGEMAKER_ROLE_ARN)")
    if args.definition_file is not None:
        try:
            body = args.definition_file.read_text(encoding="utf-8")
            json.loads(body)
        except OSError as exc:
            raise CliError(f"cannot read {args.definition_file}: {exc.strerror or exc}") from exc
        except ValueError as exc:
            raise CliError(f"{args.definition_file} is not valid JSON: {exc}") from exc
    else:
        body = _definition_json(args, placeholders=False)
    client = _Aws(args.region, session).sagemaker()
    description = "XGBoost training pipeline managed by mlops-bot"
    with aws(f"pipeline {args.pipeline_name!r}"):
        try:
            client.describe_pipeline(PipelineName=args.pipeline_name)
            exists = True
        except ClientError as exc:
            if not _is_not_found(exc):
                raise
            exists = False
        if exists:
            response = client.update_pipeline(
                PipelineName=args.pipeline_name,
                PipelineDefinition=body,
                RoleArn=args.role_arn,
                PipelineDescription=description,
            )
        else:
            response = client.create_pipeline(
                PipelineName=args.pipeline_name,
                PipelineDefinition=body,
                RoleArn=args.role_arn,
                PipelineDescription=description,
                Tags=[{"Key": "managed-by", "Value": "mlops-bot"}],
            )
    action = "updated" if exists else "created"
    _progress(f"pipeline {args.pipeline_name} {action}")
    _emit(json.dumps({"action": action, "pipeline_arn": response["PipelineArn"]}, indent=2), None)
    return EXIT_OK


# -- upload-code -----------------------------------------------------------------------------------


def source_archive_members(train_script: Path) -> dict[str, bytes]:
    """What ``sourcedir.tar.gz`` holds: the training script at its root and the parameter spec it
    imports, at the same import path (``ml.parameters``) as in this package."""
    from ml import parameters

    return {
        train_script.name: train_script.read_bytes(),
        "ml/__init__.py": b"",
        "ml/parameters.py": Path(parameters.__file__).read_bytes(),
    }


def _source_archive(train_script: Path) -> bytes:
    """``sourcedir.tar.gz`` of ``source_archive_members``; byte-identical for the same files."""
    buffer = io.BytesIO()
    # mtime 0 and fixed ownership keep the archive (and so its ETag) reproducible.
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        for name, data in source_archive_members(train_script).items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            archive.addfile(info, io.BytesIO(data))
    return _reproducible_gzip(buffer.getvalue())


def _reproducible_gzip(blob: bytes) -> bytes:
    # The gzip header embeds the time of compression (bytes 4-7); zero it.
    return blob[:4] + b"\x00\x00\x00\x00" + blob[8:]


def _cmd_upload_code(args: argparse.Namespace, session: boto3.Session | None) -> int:
    if not args.code_s3_prefix:
        raise CliError("missing --code-s3-prefix (or MLOPS_CODE_S3_PREFIX)")
    from ml import serving_code
    from ml.pipeline import (  # no SDK import: ml.pipeline loads it lazily
        EVALUATE_SCRIPT,
        PREPROCESS_SCRIPT,
        TRAIN_SCRIPT,
        TRAIN_SOURCE_ARCHIVE,
        PipelineConfigError,
        check_code_prefix,
        code_files,
    )

    try:
        check_code_prefix(args.code_s3_prefix)
    except PipelineConfigError as exc:
        raise CliError(str(exc)) from exc

    steps_dir: Path = args.steps_dir
    sources = {name: steps_dir / name for name in (PREPROCESS_SCRIPT, EVALUATE_SCRIPT, TRAIN_SCRIPT)}
    absent = [str(path) for path in sources.values() if not path.is_file()]
    if absent:
        raise CliError(f"step scripts not found: {', '.join(absent)}")
    targets = code_files(args.code_s3_prefix)
    payloads = {
        PREPROCESS_SCRIPT: sources[PREPROCESS_SCRIPT].read_bytes(),
        EVALUATE_SCRIPT: sources[EVALUATE_SCRIPT].read_bytes(),
        TRAIN_SOURCE_ARCHIVE: _source_archive(sources[TRAIN_SCRIPT]),
        # The model's inference script: registered models run it (SAGEMAKER_SUBMIT_DIRECTORY).
        serving_code.SOURCE_ARCHIVE: serving_code.archive(),
    }
    s3 = _Aws(args.region, session).s3()
    for name, payload in payloads.items():
        bucket, key = _split_s3(targets[name])
        with aws(f"uploading {targets[name]}"):
            s3.put_object(Bucket=bucket, Key=key, Body=payload)
        _progress(f"uploaded {targets[name]} ({len(payload)} bytes)")
    _emit(json.dumps(targets, indent=2), None)
    return EXIT_OK


# -- start -----------------------------------------------------------------------------------------


def _cmd_start(args: argparse.Namespace, session: boto3.Session | None) -> int:
    requested: dict[str, str] = {}
    for name, value in args.param:
        if name in requested:
            raise CliError(f"parameter {name} is given twice")
        requested[name] = value
    try:
        overrides = validate_parameters(requested)
    except InvalidRequest as exc:
        raise CliError(str(exc)) from exc
    requested_by = str(args.requested_by).strip()
    if not requested_by:
        raise CliError("--requested-by must not be empty")
    client = _Aws(args.region, session).sagemaker()
    with aws(f"starting pipeline {args.pipeline_name!r}"):
        response = client.start_pipeline_execution(
            PipelineName=args.pipeline_name,
            PipelineExecutionDisplayName=naming.display_name(requested_by, datetime.now().astimezone()),
            PipelineExecutionDescription=naming.execution_description(requested_by, args.git_sha),
            PipelineParameters=[{"Name": name, "Value": value} for name, value in overrides.items()],
        )
    arn = str(response["PipelineExecutionArn"])
    run_tags = {naming.TAG_REQUESTED_BY: requested_by}
    if args.git_sha:
        run_tags[naming.TAG_GIT_SHA] = args.git_sha
    try:
        client.add_tags(ResourceArn=arn, Tags=naming.tags(run_tags))
    except (ClientError, BotoCoreError) as exc:
        # The description already records who and which commit; tags only ease searching.
        _progress(f"warning: execution started but not tagged: {exc}")
    _progress(f"started {arn}")
    _emit(arn, None)
    return EXIT_OK


# -- wait / results --------------------------------------------------------------------------------


def _steps(client: SageMakerClient, arn: str) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    paginator = client.get_paginator("list_pipeline_execution_steps")
    for page in paginator.paginate(PipelineExecutionArn=arn, SortOrder="Ascending"):
        steps.extend(dict(step) for step in page.get("PipelineExecutionSteps", []))
    return steps


def _failed_step(steps: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    for step in steps:
        if step.get("StepStatus") == "Failed":
            reason = step.get("FailureReason") or (
                step.get("Metadata", {}).get("Fail", {}).get("ErrorMessage")
            )
            return {"name": str(step.get("StepName")), "failure_reason": str(reason) if reason else None}
    return None


def _cmd_wait(
    args: argparse.Namespace,
    session: boto3.Session | None,
    sleep: Callable[[float], None],
    monotonic: Callable[[], float],
) -> int:
    client = _Aws(args.region, session).sagemaker()
    arn: str = args.execution_arn
    deadline = monotonic() + args.timeout
    delay: float = args.poll_interval
    seen: dict[str, str] = {}
    while True:
        with aws(f"describing {arn}"):
            described = client.describe_pipeline_execution(PipelineExecutionArn=arn)
            steps = _steps(client, arn)
        for step in steps:
            name, status = str(step.get("StepName")), str(step.get("StepStatus"))
            if seen.get(name) != status:
                seen[name] = status
                _progress(f"step {name}: {status}")
        status = str(described["PipelineExecutionStatus"])
        if status in _TERMINAL:
            break
        remaining = deadline - monotonic()
        if remaining <= 0:
            _progress(f"timed out after {args.timeout:g} s; the execution is still {status}: {arn}")
            return EXIT_RUN_FAILED
        sleep(min(delay, remaining))
        delay = min(max(delay * 1.5, 1.0), args.max_poll_interval)
    if status == "Succeeded":
        _progress(f"execution Succeeded: {arn}")
        return EXIT_OK
    failed = _failed_step(steps)
    reason = described.get("FailureReason") or (failed or {}).get("failure_reason") or "no reason given"
    where = f" at step {failed['name']}" if failed else ""
    _progress(f"execution {status}{where}: {reason}")
    return EXIT_RUN_FAILED


def _flatten_metrics(report: Mapping[str, Any]) -> dict[str, float]:
    section = report.get("classification_metrics")
    if not isinstance(section, Mapping):
        raise ValueError("no classification_metrics object")
    metrics: dict[str, float] = {}
    for name, entry in section.items():
        value = entry.get("value") if isinstance(entry, Mapping) else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            metrics[str(name)] = float(value)
    return metrics


def _evaluation_uri(
    client: SageMakerClient, steps: Sequence[Mapping[str, Any]], package: Mapping[str, Any] | None
) -> str | None:
    """Where evaluation.json is: the EvaluateModel job's output, else the registered package's metrics."""
    from ml.pipeline import EVALUATION_FILE, EVALUATION_OUTPUT, STEP_EVALUATE

    for step in steps:
        job_arn = step.get("Metadata", {}).get("ProcessingJob", {}).get("Arn")
        if step.get("StepName") == STEP_EVALUATE and job_arn:
            job = client.describe_processing_job(ProcessingJobName=str(job_arn).rsplit("/", 1)[-1])
            for output in job.get("ProcessingOutputConfig", {}).get("Outputs", []):
                uri = output.get("S3Output", {}).get("S3Uri")
                if output.get("OutputName") == EVALUATION_OUTPUT and uri:
                    return f"{str(uri).rstrip('/')}/{EVALUATION_FILE}"
    if package is not None:
        uri = package.get("ModelMetrics", {}).get("ModelQuality", {}).get("Statistics", {}).get("S3Uri")
        return str(uri) if uri else None
    return None


def result_report(client: SageMakerClient, s3: S3Client, execution_arn: str) -> dict[str, Any]:
    """The ``pipeline_result`` report of one execution (shape in the module docstring)."""
    from ml.pipeline import STEP_REGISTER

    described = client.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
    steps = _steps(client, execution_arn)
    parameters: dict[str, str] = {}
    for page in client.get_paginator("list_pipeline_parameters_for_execution").paginate(
        PipelineExecutionArn=execution_arn
    ):
        parameters.update({str(p["Name"]): str(p["Value"]) for p in page.get("PipelineParameters", [])})
    status = str(described["PipelineExecutionStatus"])
    requested_by, git_sha = naming.parse_execution_description(described.get("PipelineExecutionDescription"))
    failed = _failed_step(steps)
    warnings: list[str] = []

    package: dict[str, Any] | None = None
    model_package: dict[str, Any] | None = None
    for step in steps:
        package_arn = step.get("Metadata", {}).get("RegisterModel", {}).get("Arn")
        if step.get("StepName") == STEP_REGISTER and package_arn:
            try:
                package_info = dict(client.describe_model_package(ModelPackageName=str(package_arn)))
                package = package_info
            except ClientError as exc:
                warnings.append(f"could not describe model package {package_arn}: {exc}")
                package_info = {}
            model_package = {
                "arn": str(package_arn),
                "group": package_info.get("ModelPackageGroupName") or str(package_arn).rsplit("/", 2)[-2],
                "version": package_info.get("ModelPackageVersion")
                or naming.version_from_package_arn(str(package_arn)),
                "approval_status": package_info.get("ModelApprovalStatus"),
            }

    metrics: dict[str, float] | None = None
    source: str | None = None
    try:
        source = _evaluation_uri(client, steps, package)
    except ClientError as exc:
        warnings.append(f"could not locate evaluation.json: {exc}")
    if source is not None:
        try:
            bucket, key = _split_s3(source)
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            metrics = _flatten_metrics(json.loads(body))
        except (ClientError, BotoCoreError, CliError) as exc:
            warnings.append(f"could not read {source}: {exc}")
            source = None
        except ValueError as exc:
            warnings.append(f"{source} is not an evaluation report: {exc}")
            source = None

    failure = described.get("FailureReason") or (failed or {}).get("failure_reason")
    return {
        "kind": RESULT_KIND,
        "schema_version": RESULT_SCHEMA_VERSION,
        "pipeline_name": str(described.get("PipelineArn", "")).rsplit("/", 1)[-1] or None,
        "pipeline_arn": described.get("PipelineArn"),
        "execution_arn": execution_arn,
        "execution_id": naming.execution_id(execution_arn),
        "status": status,
        "failure_reason": str(failure) if failure else None,
        "started_at": _iso(described.get("CreationTime")),
        "ended_at": _iso(described.get("LastModifiedTime")) if status in _TERMINAL else None,
        "requested_by": requested_by or None,
        "git_sha": git_sha,
        "parameters": parameters,
        "steps": [
            {
                "name": str(step.get("StepName")),
                "status": str(step.get("StepStatus")),
                "started_at": _iso(step.get("StartTime")),
                "ended_at": _iso(step.get("EndTime")),
                "failure_reason": step.get("FailureReason") or None,
            }
            for step in steps
        ],
        "failed_step": failed,
        "model_package": model_package,
        "metrics": metrics,
        "metrics_source": source,
        "warnings": warnings,
    }


def _cmd_results(args: argparse.Namespace, session: boto3.Session | None) -> int:
    clients = _Aws(args.region, session)
    with aws(f"reading {args.execution_arn}"):
        report = result_report(clients.sagemaker(), clients.s3(), args.execution_arn)
    _emit(json.dumps(report, indent=2), args.output)
    return EXIT_OK


# -- entry point -----------------------------------------------------------------------------------


def main(
    argv: Sequence[str],
    *,
    session: boto3.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> int:
    """Run one ``pipeline`` subcommand; returns the exit code (0, 1 or 2, see the module docstring).

    ``session`` replaces the default boto3 session (tests register stub handlers on it); ``sleep``
    and ``monotonic`` are what ``wait`` polls with.
    """
    parser = _parser()
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:  # argparse exits 2 on bad usage and 0 on --help
        return int(exc.code) if isinstance(exc.code, int) else EXIT_ERROR
    _configure_logging(args.verbose)
    try:
        if args.command == "definition":
            return _cmd_definition(args, session)
        if args.command == "upsert":
            return _cmd_upsert(args, session)
        if args.command == "upload-code":
            return _cmd_upload_code(args, session)
        if args.command == "start":
            return _cmd_start(args, session)
        if args.command == "wait":
            return _cmd_wait(args, session, sleep, monotonic)
        return _cmd_results(args, session)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
