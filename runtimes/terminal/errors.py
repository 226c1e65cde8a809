"""The one error of the terminal chat: a line that cannot run, and why."""

from __future__ import annotations


class ShellError(Exception):
    """A line that cannot be run; the message says why and what would work."""


__all__ = ["ShellError"]
