"""The ``mlops-bot`` entry point: run a release command or start a runtime; errors become exit codes."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from bot.core.store import StoreError
from bot.settings import ConfigError, Settings, load_settings
from ml.dbfile import CorruptDatabase
from ml.platform import PlatformError
from runtimes.cli.args import RELEASE_COMMANDS, UsageError, build_parser
from runtimes.cli.release import run_release_command

#: what a shell reports for a command killed by SIGPIPE, as ``head`` leaves ``yes``
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        overrides: dict[str, Any] = {}
        if getattr(args, "home", None) is not None:
            overrides["mlops_home"] = args.home
        settings = load_settings(**overrides)
        if args.command in RELEASE_COMMANDS:
            code = run_release_command(args, settings)
        else:
            code = run_runtime(args, settings)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return code
    except BrokenPipeError:
        # The reader went away (``mlops-bot status --json | head -1``): stop quietly, as Unix tools do.
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    except (UsageError, ConfigError, ValueError) as exc:
        print(f"mlops-bot: {exc}", file=sys.stderr)
        return 2
    except (StoreError, CorruptDatabase) as exc:  # the message names the file or table and what to do
        print(f"mlops-bot: {exc}", file=sys.stderr)
        return 1
    except PlatformError as exc:
        print(f"mlops-bot: failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so that what is still buffered cannot fail again at exit."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by an object without a descriptor
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def run_runtime(args: argparse.Namespace, settings: Settings) -> int:
    """Long-running runtimes; each imports only what it needs."""
    if args.command == "shell":
        from runtimes.terminal import main_shell

        return main_shell(settings, user=args.user, color="never" if args.no_color else "auto")
    if args.command == "demo":
        from runtimes.demo import main_demo

        return main_demo(settings, data=args.data)
    if args.command == "serve":
        from runtimes.http_server import main_serve

        return main_serve(settings, host=args.host, port=args.port)
    if args.command == "socket":
        from runtimes.socket_mode import main_socket

        return main_socket(settings)
    raise UsageError(f"unknown command {args.command}")
