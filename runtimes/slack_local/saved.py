"""The local workspace kept in a SQLite file, so that the terminal chat carries on after a restart.

Channels, messages (with their ts, blocks, threads, edits and ephemeral recipients) and the message
numbers the chat shows (``#N``) are written before the Web API call that made them is answered, and
read back when the workspace starts again. Modals, trigger ids and response URLs are short-lived
and stay in memory.

Several processes may share the file (two chats on one home): each write is one ``BEGIN IMMEDIATE``
transaction, so ts and ``#N`` are handed out once across them, and SQLite's lock serialises writers.
Each process sees the others' messages when it starts, not live. The file is bounded: the newest
:data:`MESSAGES_PER_CHANNEL` messages of each channel are kept, each with its newest
:data:`REVISIONS_PER_MESSAGE` earlier revisions.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from ml.dbfile import corrupt_message, is_corrupt
from runtimes.slack_local.model import Message, Revision, SlackApiFault

#: Messages kept per channel (DMs count as channels); older ones are dropped from the file.
MESSAGES_PER_CHANNEL = 500
#: Earlier revisions kept per message (a card updated many times keeps its newest ones).
REVISIONS_PER_MESSAGE = 20
#: How long a write waits for another process's transaction on the same file.
BUSY_TIMEOUT_SECONDS = 30

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS channels (id TEXT PRIMARY KEY, name TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages (
    channel TEXT NOT NULL,
    ts TEXT NOT NULL,
    number INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (channel, ts)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_by_number ON messages (channel, number);
"""


class SavedWorkspaceError(SlackApiFault):
    """The workspace file cannot be written: the call fails as a Slack 500 would, changing nothing."""

    def __init__(self, message: str) -> None:
        super().__init__("internal_error", 500, [message])


class CorruptWorkspaceFile(ValueError):
    """The workspace file is damaged; the message names it and what to do."""


@dataclass(frozen=True)
class SavedState:
    """What a workspace file held: channels (id -> name) and messages, oldest number first."""

    channels: dict[str, str]
    messages: list[Message]


def ts_of(micros: int) -> str:
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def _doc(message: Message) -> str:
    kept = message.history[-REVISIONS_PER_MESSAGE:]
    data = asdict(replace(message, history=kept))
    return json.dumps(data, separators=(",", ":"))


def _message(doc: str) -> Message:
    data: dict[str, Any] = json.loads(doc)
    data["history"] = tuple(Revision(**r) for r in data.get("history", ()))
    data["files"] = tuple(data.get("files", ()))
    return Message(**data)


class WorkspaceFile:
    """One SQLite file holding a workspace's channels and messages. Thread-safe."""

    def __init__(self, path: Path, *, per_channel: int | None = None) -> None:
        self.path = path
        self.per_channel = MESSAGES_PER_CHANNEL if per_channel is None else per_channel
        if self.per_channel < 1:
            raise ValueError("per_channel must be at least 1")
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
        )
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            # WAL with NORMAL survives a crash of the process: every commit is in the log before it returns
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            self.close()
            raise self._fatal(exc) from exc

    def _fatal(self, exc: sqlite3.Error) -> Exception:
        if is_corrupt(exc):
            return CorruptWorkspaceFile(corrupt_message(self.path, exc, "the chat's earlier messages"))
        return ValueError(f"the chat's workspace file {self.path}: {exc}")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction that holds SQLite's write lock from its start (no lost updates)."""
        with self._lock:
            if self._conn is None:
                raise SavedWorkspaceError(f"{self.path} is closed")
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise SavedWorkspaceError(f"could not save to {self.path}: {exc}") from exc

    # -- reading -----------------------------------------------------------------------------
    def load(self) -> SavedState:
        with self._lock:
            if self._conn is None:
                raise ValueError(f"{self.path} is closed")
            try:
                channels = dict(self._conn.execute("SELECT id, name FROM channels").fetchall())
                rows = self._conn.execute("SELECT doc FROM messages ORDER BY number").fetchall()
                messages = [_message(doc) for (doc,) in rows]
            except sqlite3.DatabaseError as exc:
                raise self._fatal(exc) from exc
            except (ValueError, TypeError) as exc:  # a row this version cannot read
                raise ValueError(
                    f"{self.path} holds a message this version cannot read ({exc}); move it aside and restart"
                ) from exc
        return SavedState(channels, messages)

    # -- writing -----------------------------------------------------------------------------
    def add_channels(self, channels: Mapping[str, str]) -> None:
        with self._transaction() as conn:
            conn.executemany("INSERT OR IGNORE INTO channels (id, name) VALUES (?, ?)", channels.items())

    def post(self, message: Message, now_us: int) -> Message:
        """Save a new message, giving it the next ts of its channel and the next ``#N``; returns it."""
        with self._transaction() as conn:
            last_ts = _counter(conn, "ts_us")
            micros = max(now_us, last_ts + 1)
            number = _counter(conn, "number") + 1
            posted = replace(message, ts=ts_of(micros), number=number)
            conn.execute(
                "INSERT INTO messages (channel, ts, number, doc) VALUES (?, ?, ?, ?)",
                (posted.channel, posted.ts, number, _doc(posted)),
            )
            conn.executemany(
                "INSERT INTO counters (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value=excluded.value",
                (("ts_us", micros), ("number", number)),
            )
            conn.execute(
                "DELETE FROM messages WHERE channel=? AND number <= "
                "(SELECT number FROM messages WHERE channel=? ORDER BY number DESC LIMIT 1 OFFSET ?)",
                (posted.channel, posted.channel, self.per_channel),
            )
        return posted

    def save(self, message: Message) -> None:
        """Save a change (an edit or a deletion) of a message posted before."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO messages (channel, ts, number, doc) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (channel, ts) DO UPDATE SET doc=excluded.doc",
                (message.channel, message.ts, message.number, _doc(message)),
            )

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _counter(conn: sqlite3.Connection, name: str) -> int:
    row = conn.execute("SELECT value FROM counters WHERE name=?", (name,)).fetchone()
    return int(row[0]) if row else 0


__all__ = [
    "MESSAGES_PER_CHANNEL",
    "REVISIONS_PER_MESSAGE",
    "CorruptWorkspaceFile",
    "SavedState",
    "SavedWorkspaceError",
    "WorkspaceFile",
]
