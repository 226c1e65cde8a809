"""The screen: rich consoles for what the chat says and its errors; the prompt kept intact while printing."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from collections.abc import Callable
from typing import IO, cast

from rich.console import Console, RenderableType
from rich.text import Text

#: Width of the chat when output is not a terminal (a pipe, a file): long enough for a card's fields.
PIPE_WIDTH = 100
#: Widest the chat gets on a terminal; longer lines are harder to read.
MAX_WIDTH = 120
_SGR = re.compile(r"(\x1b\[[0-9;]*m)")
_LINE_END_PADDING = re.compile(r" +$", re.MULTILINE)


class _Trimmed(io.TextIOBase):
    """Plain output without the spaces rich pads indented lines with, so a pipe gets clean lines."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def write(self, text: str) -> int:
        self.out.write(_LINE_END_PADDING.sub("", text))
        return len(text)

    def flush(self) -> None:
        self.out.flush()


def make_console(out: IO[str], *, color: bool, width: int | None = None) -> Console:
    """A rich console writing to ``out``: colors only when ``color``, else plain text without escape codes."""
    if width is None:
        width = min(shutil.get_terminal_size((PIPE_WIDTH, 24)).columns, MAX_WIDTH) if color else PIPE_WIDTH
    return Console(
        file=out if color else cast("IO[str]", _Trimmed(out)),  # TextIOBase writes text like IO[str]
        width=width,
        force_terminal=color,
        color_system="standard" if color else None,
        no_color=not color,
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=False,
    )


class Screen:
    """Output of one chat session; at an interactive prompt, printing clears and redraws the prompt line."""

    def __init__(
        self,
        out: IO[str],
        err: IO[str],
        *,
        color: bool,
        interactive: bool,
        prompt: Callable[[], Text],
        width: int | None = None,
    ) -> None:
        self.out = out
        self.console = make_console(out, color=color, width=width)
        self.errors = make_console(err, color=color, width=width)
        self.interactive = interactive
        self._prompt = prompt
        #: True while the interactive loop waits for a line at the prompt.
        self.at_prompt = False

    @property
    def prompt(self) -> str:
        """The prompt as printed (with escape codes on a color terminal)."""
        with self.console.capture() as captured:
            self.console.print(self._prompt(), end="")
        return captured.get()

    def readline_prompt(self) -> str:
        """The prompt for ``input()``, its escape codes marked zero-width for readline's own width count."""
        return _SGR.sub(lambda m: "\x01" + m.group(1) + "\x02", self.prompt)

    def say(self, text: RenderableType, style: str | None = None) -> None:
        self.clear_prompt()
        self.console.print(text, style=style)

    def error(self, text: str) -> None:
        self.clear_prompt()
        self.out.flush()
        self.errors.print(Text.assemble(("error: ", "bold red"), text))

    def clear_prompt(self) -> None:
        if self.interactive and self.at_prompt:
            self.out.write("\r\x1b[K")

    def redraw_prompt(self) -> None:
        if self.interactive and self.at_prompt:
            buffer = ""
            with contextlib.suppress(ImportError):
                import readline

                buffer = readline.get_line_buffer()
            self.out.write(self.prompt + buffer)
            self.out.flush()


__all__ = ["MAX_WIDTH", "PIPE_WIDTH", "Screen", "make_console"]
