"""``definition`` and ``upsert``: build the pipeline definition and publish it to SageMaker."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Final

import boto3

from ml.clock import Clock
from ml.pipeline_cli.console import EXIT_OK, CliError, aws, connect, emit, progress
from ml.sagemaker.pipelines import upsert_pipeline

PLACEHOLDER_REGION: Final = "us-east-1"
PLACEHOLDER_ROLE_ARN: Final = "arn:aws:iam::123456789012:role/mlops-sagemaker-execution"
PLACEHOLDER_CODE_PREFIX: Final = "s3://mlops-artifacts-123456789012/pipeline-code"
PLACEHOLDER_INPUT_DATA: Final = "s3://mlops-data-123456789012/training/"


def definition_json(args: argparse.Namespace, *, placeholders: bool) -> str:
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


def definition_command(args: argparse.Namespace, session: boto3.Session | None, clock: Clock) -> int:
    emit(definition_json(args, placeholders=True), args.output)
    return EXIT_OK


def upsert_command(args: argparse.Namespace, session: boto3.Session | None, clock: Clock) -> int:
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
        body = definition_json(args, placeholders=False)
    sagemaker = connect(args.region, session).sagemaker
    with aws(f"pipeline {args.pipeline_name!r}"):
        created, arn = upsert_pipeline(sagemaker, args.pipeline_name, body, args.role_arn)
    action = "created" if created else "updated"
    progress(f"pipeline {args.pipeline_name} {action}")
    emit(json.dumps({"action": action, "pipeline_arn": arn}, indent=2), None)
    return EXIT_OK
