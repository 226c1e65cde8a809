"""The store on SQLite: one table, WAL mode, safe across threads and processes.

Records written with a TTL are hidden from reads once expired and deleted by the next write at most
``PURGE_INTERVAL_SECONDS`` later, so dedupe keys of a flood of events do not pile up in the file.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from bot.core.store import Record, StoreError
from ml.clock import SYSTEM_CLOCK, Clock
from ml.dbfile import corrupt_message, is_corrupt


class CorruptStore(StoreError):
    """The store's file is damaged; the message names it and what to do."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    ns TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    expires_at REAL,
    PRIMARY KEY (ns, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_expiry ON records (expires_at) WHERE expires_at IS NOT NULL;
"""
#: How often (at most) a write also deletes the records that have expired.
PURGE_INTERVAL_SECONDS = 60.0


class SQLiteStore:
    """``Store`` in one SQLite file; TTLs count on ``clock``'s wall time."""

    def __init__(self, path: Path | str, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.path = Path(path)
        self.clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        # Closing a connection while another thread runs a statement on it crashes the interpreter
        # (sqlite3 frees what the statement still uses): close() waits for statements in flight, and
        # new ones wait for close() to end. Each thread then opens a new connection.
        self._users = threading.Condition()
        self._in_use = 0
        self._closing = False
        self._next_purge = 0.0
        try:
            with self._conn() as conn:
                conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            self.close()
            raise self._error(exc) from exc

    def _error(self, exc: sqlite3.Error) -> StoreError:
        if is_corrupt(exc):
            return CorruptStore(corrupt_message(self.path, exc, "the audit trail in it"))
        return StoreError(f"store {self.path}: {exc}")

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # One connection per thread; autocommit so each statement is its own transaction.
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def _run(self, sql: str, args: tuple[object, ...]) -> tuple[list[Any], int]:
        """The statement's rows and its row count, read before ``close`` may close its connection."""
        with self._users:
            self._users.wait_for(lambda: not self._closing)
            self._in_use += 1
        try:
            cursor = self._conn().execute(sql, args)
            return cursor.fetchall(), cursor.rowcount
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        finally:
            with self._users:
                self._in_use -= 1
                self._users.notify_all()

    def _expiry(self, ttl_seconds: int | None) -> float | None:
        return None if ttl_seconds is None else self.clock.wall() + ttl_seconds

    def get(self, ns: str, key: str) -> Record | None:
        rows, _ = self._run(
            "SELECT value FROM records WHERE ns=? AND key=? AND (expires_at IS NULL OR expires_at>?)",
            (ns, key, self.clock.wall()),
        )
        return dict(json.loads(rows[0][0])) if rows else None

    def _purge_now_and_then(self) -> None:
        now = self.clock.wall()
        with self._lock:
            if now < self._next_purge:
                return
            self._next_purge = now + PURGE_INTERVAL_SECONDS
        self.purge_expired()

    def put(self, ns: str, key: str, value: Record, ttl_seconds: int | None = None) -> None:
        if ttl_seconds is not None:
            self._purge_now_and_then()
        self._run(
            "INSERT OR REPLACE INTO records (ns, key, value, expires_at) VALUES (?, ?, ?, ?)",
            (ns, key, json.dumps(value, sort_keys=True), self._expiry(ttl_seconds)),
        )

    def put_if_absent(self, ns: str, key: str, value: Record, ttl_seconds: int | None = None) -> bool:
        if ttl_seconds is not None:
            self._purge_now_and_then()
        now = self.clock.wall()
        _, count = self._run(
            "INSERT INTO records (ns, key, value, expires_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (ns, key) DO UPDATE SET value=excluded.value, expires_at=excluded.expires_at "
            "WHERE records.expires_at IS NOT NULL AND records.expires_at<=?",
            (ns, key, json.dumps(value, sort_keys=True), self._expiry(ttl_seconds), now),
        )
        return count == 1

    def replace_if(self, ns: str, key: str, expected: Record, value: Record) -> bool:
        _, count = self._run(
            "UPDATE records SET value=? WHERE ns=? AND key=? AND value=? "
            "AND (expires_at IS NULL OR expires_at>?)",
            (
                json.dumps(value, sort_keys=True),
                ns,
                key,
                json.dumps(expected, sort_keys=True),
                self.clock.wall(),
            ),
        )
        return count == 1

    def delete(self, ns: str, key: str) -> None:
        self._run("DELETE FROM records WHERE ns=? AND key=?", (ns, key))

    def query(
        self,
        ns: str,
        prefix: str = "",
        *,
        limit: int | None = None,
        newest_first: bool = False,
        after: str | None = None,
    ) -> list[tuple[str, Record]]:
        order = "DESC" if newest_first else "ASC"
        # Range scan on the primary key; U+10FFFF sorts after every character used in keys.
        low, high = prefix, prefix + "\U0010ffff"
        low_op = ">="
        if after is not None and newest_first:
            high = min(high, after)
        elif after is not None and after >= low:
            low, low_op = after, ">"
        rows, _ = self._run(
            f"SELECT key, value FROM records WHERE ns=? AND key{low_op}? AND key<? "  # noqa: S608 - fixed
            f"AND (expires_at IS NULL OR expires_at>?) ORDER BY key {order} LIMIT ?",
            (ns, low, high, self.clock.wall(), -1 if limit is None else limit),
        )
        return [(k, dict(json.loads(v))) for k, v in rows]

    def purge_expired(self) -> int:
        _, count = self._run(
            "DELETE FROM records WHERE expires_at IS NOT NULL AND expires_at<=?", (self.clock.wall(),)
        )
        return count

    def close(self) -> None:
        """Close every thread's connection once no statement runs on it; a later call opens a new one."""
        with self._users:
            self._closing = True
            try:
                self._users.wait_for(lambda: self._in_use == 0)
                with self._lock:
                    for conn in self._all:
                        conn.close()
                    self._all.clear()
                self._local = threading.local()
            finally:
                self._closing = False
                self._users.notify_all()
