"""How a mistyped ``/mlops`` command is answered: the ``UsageError``, the closest form, safe quoting."""

from __future__ import annotations

import difflib


class UsageError(ValueError):
    """A command that cannot run as typed. ``str()`` is the whole message for the user."""

    def __init__(self, problem: str, usage: str | None = None, suggestion: str | None = None) -> None:
        self.problem = problem
        self.usage = usage
        self.suggestion = suggestion
        parts = [problem]
        if suggestion:
            parts.append(f"Did you mean `{suggestion}`?")
        if usage:
            parts.append(f"Usage: `{usage}`")
        super().__init__("\n".join(parts))


def closest(word: str, options: list[str] | tuple[str, ...]) -> str | None:
    """The option nearest to a mistyped ``word`` (the "Did you mean" form), if one is near enough."""
    matches = difflib.get_close_matches(word.lower(), list(options), n=1, cutoff=0.5)
    return matches[0] if matches else None


def show(word: str, limit: int = 40) -> str:
    """A user's token, quoted safely inside a message (never breaks out of the code span)."""
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in word).replace("`", "'")
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"
