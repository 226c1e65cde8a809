"""Telling a damaged SQLite file apart from other database errors, and saying what to do about it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ml.platform import PlatformError

#: SQLite's result codes for a file that is not a database or whose pages are damaged
_CORRUPT = frozenset({"SQLITE_NOTADB", "SQLITE_CORRUPT"})


def is_corrupt(exc: BaseException) -> bool:
    """True if SQLite says the file itself is damaged (not locked, full or read-only)."""
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    return isinstance(exc, sqlite3.DatabaseError) and any(name.startswith(c) for c in _CORRUPT)


def corrupt_message(path: Path, exc: BaseException, lost: str) -> str:
    """One line naming the file, SQLite's words and what to do; ``lost`` says what it held."""
    return f"{path} is not a valid SQLite database ({exc}); move it aside and restart — {lost} cannot be read"


class CorruptDatabase(PlatformError):
    """The local platform's database file is damaged; the message names it and what to do."""
