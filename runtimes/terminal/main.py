"""``mlops-bot shell``: arguments, color, logs to a file, and the choice between a script and the prompt."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from bot.settings import ConfigError, Settings, load_settings
from runtimes.terminal.logs import chat_logs
from runtimes.terminal.shell import Shell


def _parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mlops-bot shell", description="Chat with the bot in the terminal.")
    parser.add_argument("--home", type=Path, help="data directory (default MLOPS_HOME or ./.mlops)")
    parser.add_argument("--as", dest="user", help="who you are at start (a user of users.json)")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    parser.add_argument(
        "--no-color", dest="color", action="store_const", const="never", help="same as --color never"
    )
    return parser.parse_args(list(argv))


def _resolve(
    argv_or_settings: Sequence[str] | Settings | None, user: str | None, color: str
) -> tuple[Settings, str | None, str]:
    if isinstance(argv_or_settings, Settings):
        return argv_or_settings, user, color
    args = _parse_args(sys.argv[1:] if argv_or_settings is None else argv_or_settings)
    overrides = {"mlops_home": args.home} if args.home is not None else {}
    return load_settings(**overrides), args.user or user, args.color


def use_color(mode: str, stream: IO[str]) -> bool:
    """``always``/``never`` as asked; ``auto``: on a terminal, unless ``NO_COLOR`` or ``TERM=dumb``."""
    if mode != "auto":
        return mode == "always"
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def main_shell(
    argv_or_settings: Sequence[str] | Settings | None = None,
    *,
    user: str | None = None,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
    color: str = "auto",
) -> int:
    """``mlops-bot shell [--home DIR] [--as NAME] [--no-color]``: interactive on a terminal, else a script.

    Colors only on a terminal, never with ``NO_COLOR`` set or ``--no-color``; piped output is plain text.
    Log records go to ``MLOPS_HOME/logs/mlops-bot.log``, never into the chat.

    Exit codes: 0 done; 1 a script line could not run; 2 configuration error.
    """
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    try:
        settings, start_user, color_mode = _resolve(argv_or_settings, user, color)
        interactive = stdin.isatty()
        shell = Shell(
            settings,
            user=start_user,
            out=stdout,
            err=stderr,
            color=use_color(color_mode, stdout),
            interactive=interactive,
        )
    except (ConfigError, ValueError) as exc:
        print(f"mlops-bot shell: {exc}", file=stderr)
        return 2
    with chat_logs(settings.mlops_home), shell:
        if interactive and stdin is sys.stdin:
            return shell.run_interactive()
        code = shell.run_script(stdin)
        if not shell.failed and not shell.settle():
            shell.error("background work did not settle before exit")
            return 1
        return code


__all__ = ["main_shell", "use_color"]
