"""The SQLite connection every store shares: WAL mode, write transactions, corruption reported plainly."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ml.clock import SYSTEM_CLOCK, Clock
from ml.dbfile import CorruptDatabase, corrupt_message, is_corrupt

from .schema import MIGRATIONS, SCHEMA, SCHEMA_VERSION

BUSY_TIMEOUT_MS = 10_000


def utcnow() -> datetime:
    """The system's current time in UTC (for callers that have no injected clock)."""
    return SYSTEM_CLOCK.now()


def ts(moment: datetime | None) -> str | None:
    """A moment as stored: ISO 8601 in UTC."""
    return None if moment is None else moment.astimezone(UTC).isoformat()


def dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def req_dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


class Database:
    """One connection to the state database, shared between threads behind a lock."""

    def __init__(self, path: Path, clock: Clock = SYSTEM_CLOCK) -> None:
        self.path = Path(path)
        #: what every stored timestamp is read from
        self.clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            self._open()
        except sqlite3.DatabaseError as exc:
            if hasattr(self, "_conn"):
                self._conn.close()
            if is_corrupt(exc):
                raise self._corrupt(exc) from exc
            raise

    def _corrupt(self, exc: sqlite3.DatabaseError) -> CorruptDatabase:
        lost = "the model versions, runs and endpoints recorded in it"
        return CorruptDatabase(corrupt_message(self.path, exc, lost))

    def _open(self) -> None:
        self._conn = sqlite3.connect(
            str(self.path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        self._conn.row_factory = sqlite3.Row
        self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise RuntimeError(
                f"{self.path}: SQLite refused WAL mode (got {mode!r}); is it on a network share?"
            )
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._create_schema()

    def _create_schema(self) -> None:
        with self._lock:
            # executescript commits on its own; the statements are idempotent, so racing processes are fine.
            self._conn.executescript(SCHEMA)
            with self.transaction() as conn:
                row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                if row is None:
                    conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                elif int(row["value"]) > SCHEMA_VERSION:
                    raise RuntimeError(
                        f"{self.path} has schema version {row['value']}, "
                        f"newer than this code's {SCHEMA_VERSION}"
                    )
                elif int(row["value"]) < SCHEMA_VERSION:
                    for version in range(int(row["value"]) + 1, SCHEMA_VERSION + 1):
                        for statement in MIGRATIONS.get(version, ()):
                            conn.execute(statement)
                    conn.execute(
                        "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
                    )

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction holding SQLite's write lock from the start (no upgrade deadlocks)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._conn.execute(sql, tuple(args)).fetchall()
            except sqlite3.DatabaseError as exc:
                if is_corrupt(exc):
                    raise self._corrupt(exc) from exc
                raise
