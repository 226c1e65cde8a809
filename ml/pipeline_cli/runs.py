"""``start``, ``wait`` and ``results``: run the pipeline, follow a run, and report on it."""

from __future__ import annotations

import argparse
import json

import boto3

from ml.clock import Clock
from ml.pipeline_cli.console import EXIT_OK, EXIT_RUN_FAILED, CliError, aws, connect, emit, progress
from ml.platform import InvalidRequest
from ml.sagemaker.naming import CIRun
from ml.sagemaker.parameters import validate_parameters
from ml.sagemaker.pipelines import start_execution, wait_for_execution
from ml.sagemaker.results import result_report


def start_command(args: argparse.Namespace, session: boto3.Session | None, clock: Clock) -> int:
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
    try:
        ci_run = CIRun.of(args.ci_repository, args.ci_run_id)
    except ValueError as exc:
        raise CliError(f"--ci-repository/--ci-run-id: {exc}") from exc
    sagemaker = connect(args.region, session).sagemaker
    with aws(f"starting pipeline {args.pipeline_name!r}"):
        arn, untagged = start_execution(
            sagemaker, args.pipeline_name, overrides, requested_by, args.git_sha, clock.now(), ci_run=ci_run
        )
    if untagged is not None:
        progress(f"warning: execution started but not tagged: {untagged}")
    progress(f"started {arn}")
    emit(arn, None)
    return EXIT_OK


def wait_command(args: argparse.Namespace, session: boto3.Session | None, clock: Clock) -> int:
    sagemaker = connect(args.region, session).sagemaker
    arn: str = args.execution_arn
    with aws(f"describing {arn}"):
        outcome = wait_for_execution(
            sagemaker,
            arn,
            clock,
            timeout=args.timeout,
            poll_interval=args.poll_interval,
            max_poll_interval=args.max_poll_interval,
            on_step=lambda name, status: progress(f"step {name}: {status}"),
        )
    if not outcome.finished:
        progress(f"timed out after {args.timeout:g} s; the execution is still {outcome.status}: {arn}")
        return EXIT_RUN_FAILED
    if outcome.status == "Succeeded":
        progress(f"execution Succeeded: {arn}")
        return EXIT_OK
    where = f" at step {outcome.failed_step['name']}" if outcome.failed_step else ""
    progress(f"execution {outcome.status}{where}: {outcome.failure_reason or 'no reason given'}")
    return EXIT_RUN_FAILED


def results_command(args: argparse.Namespace, session: boto3.Session | None, clock: Clock) -> int:
    clients = connect(args.region, session)
    with aws(f"reading {args.execution_arn}"):
        report = result_report(clients.sagemaker, clients.s3, args.execution_arn)
    emit(json.dumps(report, indent=2), args.output)
    return EXIT_OK
