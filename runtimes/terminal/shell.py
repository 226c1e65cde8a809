"""The input side: lines from a pipe run as a script, or typed at a prompt with readline history."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import Any

from rich.text import Text

from runtimes.terminal.commands import Commands
from runtimes.terminal.errors import ShellError
from runtimes.terminal.session import SETTLE_TIMEOUT_SECONDS, Session

HISTORY_FILE = "shell_history"
HISTORY_LENGTH = 1000


class Shell(Session):
    """One terminal chat session: local platform, local Slack, the Bolt app, and a user."""

    @cached_property
    def commands(self) -> Commands:
        return Commands(self)

    def execute(self, line: str) -> bool:
        """Run one line. Returns False for ``:quit``; raises ShellError for a line that cannot run."""
        return self.commands.execute(line)

    def run_script(self, lines: Iterable[str]) -> int:
        """Run lines as a script: echo, run, settle. Stops at the first line that cannot run."""
        for number, raw in enumerate(lines, start=1):
            line = raw.rstrip("\n")
            if not line.strip():
                continue
            self.say(Text.assemble(self.prompt, line))
            if line.strip().startswith("#"):
                continue
            try:
                if not self.execute(line):
                    break
            except ShellError as exc:
                self.error(f"line {number}: {exc}")
                self.failed = True
                break
            if not self.settle():
                self.error(
                    f"line {number}: background work did not settle within {SETTLE_TIMEOUT_SECONDS:.0f} s"
                )
                self.failed = True
                break
        return 1 if self.failed else 0

    def run_interactive(self) -> int:
        with contextlib.suppress(ImportError):
            import readline

            _load_history(readline, self.settings.mlops_home)
        self.say(
            Text.assemble(
                ("mlops-bot terminal chat", "bold"),
                (f" — {self.describe(self.user)}; :help for help, :quit to leave", "dim"),
            )
        )
        while True:
            self.screen.at_prompt = True
            try:
                line = input(self.screen.readline_prompt())
            except EOFError:
                self.say("")
                break
            except KeyboardInterrupt:
                self.say("")
                continue
            finally:
                self.screen.at_prompt = False
            try:
                if not self.execute(line):
                    break
            except ShellError as exc:
                self.error(str(exc))
            except KeyboardInterrupt:
                self.say("interrupted", style="dim")
        with contextlib.suppress(ImportError):
            import readline

            _save_history(readline, self.settings.mlops_home)
        return 0


def _load_history(readline: Any, home: Path) -> None:
    with contextlib.suppress(OSError):
        readline.read_history_file(str(home / HISTORY_FILE))


def _save_history(readline: Any, home: Path) -> None:
    with contextlib.suppress(OSError):
        readline.set_history_length(HISTORY_LENGTH)
        readline.write_history_file(str(home / HISTORY_FILE))


__all__ = ["Shell"]
