"""``main``: parse the ``pipeline`` command line and run one subcommand."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Final

import boto3

from ml.clock import SYSTEM_CLOCK, Clock
from ml.pipeline_cli.arguments import parser
from ml.pipeline_cli.console import EXIT_ERROR, CliError, configure_logging
from ml.pipeline_cli.publish import definition_command, upsert_command
from ml.pipeline_cli.runs import results_command, start_command, wait_command
from ml.pipeline_cli.upload import upload_code_command

Command = Callable[[argparse.Namespace, boto3.Session | None, Clock], int]

COMMANDS: Final[dict[str, Command]] = {
    "definition": definition_command,
    "upsert": upsert_command,
    "upload-code": upload_code_command,
    "start": start_command,
    "wait": wait_command,
    "results": results_command,
}


def main(argv: Sequence[str], *, session: boto3.Session | None = None, clock: Clock = SYSTEM_CLOCK) -> int:
    """Run one ``pipeline`` subcommand; returns the exit code (0, 1 or 2, see ``ml.pipeline_cli``).

    ``session`` replaces the default boto3 session (tests register stub handlers on it); ``clock``
    is what ``start`` reads the time from and ``wait`` polls with.
    """
    try:
        args = parser().parse_args(list(argv))
    except SystemExit as exc:  # argparse exits 2 on bad usage and 0 on --help
        return int(exc.code) if isinstance(exc.code, int) else EXIT_ERROR
    configure_logging(args.verbose)
    try:
        return COMMANDS[args.command](args, session, clock)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
