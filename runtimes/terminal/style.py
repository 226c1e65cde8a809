"""ANSI text styling for the terminal chat, and the printed width of styled text."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

#: An ANSI SGR sequence (color, bold, ...), which takes no room on screen.
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Style:
    """ANSI styling, or plain text when output is not a terminal."""

    def __init__(self, color: bool) -> None:
        self.color = color
        self.bold = self._painter("1")
        self.dim = self._painter("2")
        self.italic = self._painter("3")
        self.strike = self._painter("9")
        self.red = self._painter("31")
        self.green = self._painter("32")
        self.yellow = self._painter("33")
        self.blue = self._painter("34")

    def _painter(self, code: str) -> Callable[[str], str]:
        return lambda text: self._wrap(code, text)

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color and text else text

    def code(self, text: str) -> str:
        return self._wrap("36", text) if self.color else f"`{text}`"


def visible_len(text: str) -> int:
    """Printed width: ANSI codes take none, wide characters (emoji, CJK) take two columns."""
    plain = ANSI.sub("", text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 0 if ch == "\ufe0f" else 1 for ch in plain)


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - visible_len(text))


__all__ = ["ANSI", "Style", "pad", "visible_len"]
