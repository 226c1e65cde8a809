"""What every ``pipeline`` subcommand shares: exit codes, errors, logging, output and AWS clients."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import boto3

from ml.sagemaker.clients import RegionClients
from ml.sagemaker.errors import AWS_ERRORS, short_message

EXIT_OK: Final = 0
EXIT_RUN_FAILED: Final = 1
EXIT_ERROR: Final = 2


class CliError(Exception):
    """A failure reported as ``error: <message>`` with exit code 2."""


class _QuietSdk(logging.Filter):
    """Drops the SDK's chatty records: it logs INFO/DEBUG and per-step WARNINGs on every build."""

    def filter(self, record: logging.LogRecord) -> bool:
        noisy = record.name.split(".", 1)[0] in {"sagemaker", "botocore", "boto3", "urllib3"}
        return not noisy or record.levelno >= logging.ERROR


def configure_logging(verbose: bool) -> None:
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


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def emit(text: str, output: Path | None) -> None:
    """``text`` on stdout, or written to ``output``."""
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    progress(f"wrote {output}")


@contextlib.contextmanager
def aws(action: str) -> Iterator[None]:
    """Turns AWS errors into a CliError naming ``action``."""
    try:
        yield
    except AWS_ERRORS as exc:
        raise CliError(f"{action} failed: {short_message(exc)}") from exc


def connect(region: str | None, session: boto3.Session | None) -> RegionClients:
    """The command's AWS clients, in ``region`` or the session's."""
    clients = RegionClients.open(region, session, user_agent="mlops-bot-pipeline-cli")
    if clients is None:
        raise CliError("no AWS region: pass --region or set AWS_REGION")
    return clients
