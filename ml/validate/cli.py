"""``python -m ml validate``: validate an endpoint from the command line.

The JSON report goes to standard output (and ``--output``); one line per check, the accuracy with its
row count and 95 % interval among them, goes to standard error for the person watching.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from botocore.exceptions import BotoCoreError, NoRegionError

from ml.clock import SYSTEM_CLOCK, Clock

from .checks import DEFAULT_ROWS, validate_endpoint
from .runtime import runtime_invoker


def main(argv: list[str] | None = None, *, clock: Clock = SYSTEM_CLOCK) -> int:
    """``python -m ml validate``: print the report; exit 0 passed, 1 failed, 2 usage error.

    ``clock`` stamps the report and times the calls.
    """
    parser = argparse.ArgumentParser(prog="python -m ml validate", description="Validate a staging endpoint.")
    parser.add_argument("--endpoint", required=True, help="SageMaker endpoint name")
    parser.add_argument("--endpoint-url", default=None, help="sagemaker-runtime URL (local platform, moto)")
    parser.add_argument("--region", default=None, help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION)")
    parser.add_argument("--data", type=Path, default=None, help="labelled rows (default: bundled adult.test)")
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--latency-budget-ms", type=float, default=300.0)
    parser.add_argument(
        "--rows",
        "--sample-size",
        dest="rows",
        type=int,
        default=DEFAULT_ROWS,
        help=f"held-out rows to send (default {DEFAULT_ROWS}; all the data holds if it has fewer)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output", type=Path, default=None, help="also write the report here")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on usage errors and --help
        return exc.code if isinstance(exc.code, int) else 2
    if args.rows < 1:
        print(f"validate: --rows must be at least 1, not {args.rows}", file=sys.stderr)
        return 2
    try:
        region = args.region or os.environ.get("AWS_REGION") or None  # botocore reads AWS_DEFAULT_REGION only
        invoke = runtime_invoker(args.endpoint, args.endpoint_url, region)
    except NoRegionError:
        print(
            "validate: no AWS region: pass --region (e.g. --region eu-west-1), or set AWS_REGION or "
            "AWS_DEFAULT_REGION, or region in the profile of ~/.aws/config",
            file=sys.stderr,
        )
        return 2
    try:
        report = validate_endpoint(
            invoke,
            args.data,
            threshold=args.threshold,
            latency_budget_ms=args.latency_budget_ms,
            sample_size=args.rows,
            seed=args.seed,
            endpoint=args.endpoint,
            clock=clock,
        )
    except (ValueError, BotoCoreError) as exc:
        print(f"validate: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(report, indent=2)
    print(text)
    for check in report["checks"]:
        print(f"{'PASS' if check['passed'] else 'FAIL'} {check['name']}: {check['detail']}", file=sys.stderr)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n", encoding="utf-8")
    return 0 if report["passed"] else 1
