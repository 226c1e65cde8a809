"""The screen: lines the chat says, errors, and the prompt kept intact while the transcript prints."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import IO

from runtimes.terminal.style import ANSI, Style


class Screen:
    """Output of one chat session; at an interactive prompt, printing clears and redraws the prompt line."""

    def __init__(
        self, out: IO[str], err: IO[str], style: Style, *, interactive: bool, prompt: Callable[[], str]
    ) -> None:
        self.out = out
        self.err = err
        self.style = style
        self.interactive = interactive
        self._prompt = prompt
        #: True while the interactive loop waits for a line at the prompt.
        self.at_prompt = False

    @property
    def prompt(self) -> str:
        return self._prompt()

    def readline_prompt(self) -> str:
        """The prompt for ``input()``, its ANSI codes marked zero-width for readline's own width count."""
        return ANSI.sub(lambda m: "\x01" + m.group(0) + "\x02", self.prompt)

    def say(self, text: str) -> None:
        self.clear_prompt()
        self.out.write(text + "\n")
        self.out.flush()

    def error(self, text: str) -> None:
        self.clear_prompt()
        self.out.flush()
        self.err.write(self.style.red("error: ") + text + "\n")
        self.err.flush()

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


__all__ = ["Screen"]
