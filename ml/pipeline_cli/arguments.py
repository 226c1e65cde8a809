"""The ``pipeline`` command line: subcommands, flags and their environment defaults."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Final

DEFAULT_PIPELINE_NAME: Final = "mlops-xgboost"
DEFAULT_MODEL_PACKAGE_GROUP: Final = "mlops-xgboost"

STEPS_DIR: Final = Path(__file__).resolve().parent.parent / "steps"


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def _add_region(parser: argparse.ArgumentParser, help_text: str = "AWS region") -> None:
    parser.add_argument("--region", default=_env("AWS_REGION", "AWS_DEFAULT_REGION"), help=help_text)


def _add_target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pipeline-name",
        default=_env("MLOPS_PIPELINE_NAME") or DEFAULT_PIPELINE_NAME,
        help="pipeline name (env MLOPS_PIPELINE_NAME; default %(default)s)",
    )
    _add_region(parser, "AWS region (env AWS_REGION / AWS_DEFAULT_REGION)")


# (flag, environment variable, default, help) of the options the definition is built from.
_DEFINITION_OPTIONS: Final = (
    (
        "--role-arn",
        "SAGEMAKER_ROLE_ARN",
        None,
        "execution role of the pipeline and its jobs (env SAGEMAKER_ROLE_ARN)",
    ),
    (
        "--code-s3-prefix",
        "MLOPS_CODE_S3_PREFIX",
        None,
        "s3://bucket/prefix holding the step scripts (env MLOPS_CODE_S3_PREFIX)",
    ),
    (
        "--model-package-group",
        "MLOPS_MODEL_PACKAGE_GROUP",
        DEFAULT_MODEL_PACKAGE_GROUP,
        "model package group RegisterModel registers into (env MLOPS_MODEL_PACKAGE_GROUP)",
    ),
    (
        "--input-data",
        "MLOPS_INPUT_DATA",
        None,
        "default of the InputData parameter, an s3:// prefix (env MLOPS_INPUT_DATA)",
    ),
    (
        "--default-bucket",
        "MLOPS_ARTIFACT_BUCKET",
        None,
        "bucket for step outputs (env MLOPS_ARTIFACT_BUCKET; default: the code prefix's bucket)",
    ),
)


def _add_definition_options(parser: argparse.ArgumentParser) -> None:
    for flag, variable, fallback, help_text in _DEFINITION_OPTIONS:
        parser.add_argument(flag, default=_env(variable) or fallback, help=help_text)


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


def parser() -> argparse.ArgumentParser:
    """The parser of ``python -m ml pipeline``; its ``command`` names the subcommand."""
    root = argparse.ArgumentParser(
        prog="python -m ml pipeline", description="Manage the SageMaker training pipeline."
    )
    root.add_argument("-v", "--verbose", action="store_true", help="show SDK and AWS log messages")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

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
    _add_region(upload)
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
        "--ci-repository",
        default=_env("GITHUB_REPOSITORY"),
        help="owner/repo of the CI run starting it (env GITHUB_REPOSITORY); messages link to the run",
    )
    start.add_argument(
        "--ci-run-id", default=_env("GITHUB_RUN_ID"), help="the CI run's id (env GITHUB_RUN_ID)"
    )
    start.add_argument(
        "--requested-by",
        default=_env("MLOPS_REQUESTED_BY", "GITHUB_ACTOR", "USER") or "ci",
        help="who asked for the run (env MLOPS_REQUESTED_BY / GITHUB_ACTOR / USER)",
    )

    wait = commands.add_parser("wait", help="wait for an execution to finish")
    wait.add_argument("--execution-arn", required=True)
    _add_region(wait)
    wait.add_argument("--timeout", type=_seconds, default=4 * 3600.0, help="seconds (default 4 h)")
    wait.add_argument("--poll-interval", type=_seconds, default=10.0, help="first poll delay (s)")
    wait.add_argument("--max-poll-interval", type=_seconds, default=60.0, help="longest delay (s)")

    results = commands.add_parser("results", help="print the execution's pipeline result report")
    results.add_argument("--execution-arn", required=True)
    _add_region(results)
    results.add_argument("--output", type=Path, help="write the JSON to this file instead of stdout")
    return root
