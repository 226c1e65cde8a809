"""The local platform's durable state: model registry, pipeline executions and endpoints, in SQLite.

One database file (``home/registry.db``) in WAL mode, shared by every process working on the same home
(the bot, CLI commands, the endpoint host): WAL lets readers proceed while one writer commits, and every
write runs in a ``BEGIN IMMEDIATE`` transaction so allocation (next model version, endpoint changes)
is atomic across processes. Within a process one connection is shared behind a lock: the load is a few
writes per pipeline step, far from needing more.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal, cast

from ml.dbfile import CorruptDatabase, corrupt_message, is_corrupt
from ml.platform import (
    ApprovalStatus,
    Deployment,
    EndpointStatus,
    Environment,
    Execution,
    ExecutionStatus,
    InvalidRequest,
    ModelPackage,
    NotFound,
    StepInfo,
    StepStatus,
)

from .events import model_package_arn

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS model_packages (
    grp TEXT NOT NULL,
    version INTEGER NOT NULL,
    approval_status TEXT NOT NULL,
    approval_description TEXT,
    created_at TEXT NOT NULL,
    modified_at TEXT NOT NULL,
    metrics TEXT NOT NULL,
    artifact_uri TEXT NOT NULL,
    artifact_sha256 TEXT NOT NULL,
    lineage TEXT NOT NULL,
    PRIMARY KEY (grp, version)
);
CREATE TABLE IF NOT EXISTS executions (
    execution_id TEXT PRIMARY KEY,
    pipeline TEXT NOT NULL,
    display_name TEXT NOT NULL,
    status TEXT NOT NULL,
    parameters TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    git_sha TEXT,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    failure_reason TEXT,
    model_version INTEGER,
    owner TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS executions_by_start ON executions (pipeline, started_at);
CREATE TABLE IF NOT EXISTS steps (
    execution_id TEXT NOT NULL REFERENCES executions (execution_id),
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT,
    ended_at TEXT,
    failure_reason TEXT,
    PRIMARY KEY (execution_id, name)
);
CREATE TABLE IF NOT EXISTS endpoints (
    name TEXT PRIMARY KEY,
    grp TEXT NOT NULL,
    environment TEXT NOT NULL,
    status TEXT NOT NULL,
    version INTEGER,
    target_version INTEGER,
    model_dir TEXT,
    target_model_dir TEXT,
    config_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    failure_reason TEXT,
    owner TEXT,
    generation INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS deployments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint TEXT NOT NULL,
    environment TEXT NOT NULL,
    version INTEGER NOT NULL,
    deployed_at TEXT NOT NULL,
    deployed_by TEXT NOT NULL,
    kind TEXT NOT NULL,
    config_name TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deployments_by_endpoint ON deployments (endpoint, id);
"""

TRANSITIONAL_ENDPOINT_STATUSES = (EndpointStatus.CREATING, EndpointStatus.UPDATING)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _req_dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


@dataclass(frozen=True)
class EndpointRow:
    """An endpoint as stored: what it serves (``version``) and what a change in flight targets."""

    name: str
    group: str
    environment: Environment
    status: EndpointStatus
    version: int | None
    target_version: int | None
    model_dir: str | None
    target_model_dir: str | None
    config_name: str
    created_at: datetime
    updated_at: datetime
    failure_reason: str | None
    owner: str | None
    generation: int

    @property
    def desired(self) -> tuple[int | None, str | None]:
        """The version (and its model directory) an endpoint host should be serving now."""
        if self.status in TRANSITIONAL_ENDPOINT_STATUSES:
            return self.target_version, self.target_model_dir
        return self.version, self.model_dir


class Registry:
    """Typed access to the state database; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
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
            self._conn.executescript(_SCHEMA)
            with self.transaction() as conn:
                row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                if row is None:
                    conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                elif int(row["value"]) > SCHEMA_VERSION:
                    raise RuntimeError(
                        f"{self.path} has schema version {row['value']}, "
                        f"newer than this code's {SCHEMA_VERSION}"
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

    # -- model packages ---------------------------------------------------------------------------

    def add_model_package(
        self,
        group: str,
        *,
        approval_status: ApprovalStatus,
        metrics: Mapping[str, float],
        artifact_sha256: str,
        lineage: Mapping[str, str],
        place: Callable[[int], str],
    ) -> ModelPackage:
        """Allocate the next version and insert it; ``place(version)`` puts the files and returns the URI.

        ``place`` runs inside the write transaction, so no other writer can take the same version and a
        failed insert never leaves a row without its files.
        """
        now = utcnow()
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT MAX(version) AS v FROM model_packages WHERE grp = ?", (group,)
            ).fetchone()
            version = int(row["v"] or 0) + 1
            uri = place(version)
            conn.execute(
                "INSERT INTO model_packages VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, ?)",
                (
                    group,
                    version,
                    str(approval_status),
                    _ts(now),
                    _ts(now),
                    json.dumps(dict(metrics), sort_keys=True),
                    uri,
                    artifact_sha256,
                    json.dumps(dict(lineage), sort_keys=True),
                ),
            )
        return self.describe_model_package(group, version)

    def list_model_packages(self, group: str) -> list[ModelPackage]:
        rows = self._query("SELECT * FROM model_packages WHERE grp = ? ORDER BY version DESC", (group,))
        return [self._package(r) for r in rows]

    def latest_version(self, group: str) -> int | None:
        rows = self._query("SELECT MAX(version) AS v FROM model_packages WHERE grp = ?", (group,))
        value = rows[0]["v"]
        return None if value is None else int(value)

    def describe_model_package(self, group: str, version: int) -> ModelPackage:
        rows = self._query("SELECT * FROM model_packages WHERE grp = ? AND version = ?", (group, version))
        if not rows:
            raise NotFound(self._missing_version_message(group, version))
        return self._package(rows[0])

    def _missing_version_message(self, group: str, version: int) -> str:
        latest = self.latest_version(group)
        if latest is None:
            return f"model version v{version} does not exist (no version of {group} is registered yet)"
        return f"model version v{version} does not exist (latest is v{latest})"

    def update_approval(
        self, group: str, version: int, status: ApprovalStatus, description: str
    ) -> ModelPackage:
        with self.transaction() as conn:
            cursor = conn.execute(
                "UPDATE model_packages SET approval_status = ?, approval_description = ?, modified_at = ? "
                "WHERE grp = ? AND version = ?",
                (str(status), description, _ts(utcnow()), group, version),
            )
            if cursor.rowcount == 0:
                raise NotFound(self._missing_version_message(group, version))
        return self.describe_model_package(group, version)

    def package_modified_at(self, group: str, version: int) -> datetime:
        rows = self._query(
            "SELECT modified_at FROM model_packages WHERE grp = ? AND version = ?", (group, version)
        )
        if not rows:
            raise NotFound(self._missing_version_message(group, version))
        return _req_dt(rows[0]["modified_at"])

    @staticmethod
    def _package(row: sqlite3.Row) -> ModelPackage:
        return ModelPackage(
            version=int(row["version"]),
            arn=model_package_arn(row["grp"], int(row["version"])),
            group=row["grp"],
            approval_status=ApprovalStatus(row["approval_status"]),
            created_at=_req_dt(row["created_at"]),
            approval_description=row["approval_description"],
            metrics={k: float(v) for k, v in json.loads(row["metrics"]).items()},
            artifact_uri=row["artifact_uri"],
            artifact_sha256=row["artifact_sha256"],
            lineage={k: str(v) for k, v in json.loads(row["lineage"]).items()},
        )

    # -- executions -------------------------------------------------------------------------------

    def create_execution(
        self,
        *,
        execution_id: str,
        pipeline: str,
        display_name: str,
        parameters: Mapping[str, str],
        requested_by: str,
        git_sha: str | None,
        owner: str,
        steps: Sequence[str],
        started_at: datetime,
        admit: Callable[[list[tuple[str, str]]], None] | None = None,
    ) -> Execution:
        """Record a new run; ``admit`` sees ``(execution_id, requested_by)`` of the pipeline's unfinished
        runs in the same write transaction (so racing processes cannot both pass) and may raise to refuse.
        """
        with self.transaction() as conn:
            if admit is not None:
                rows = conn.execute(
                    "SELECT execution_id, requested_by FROM executions WHERE pipeline = ? "
                    "AND status IN (?, ?) ORDER BY started_at",
                    (pipeline, str(ExecutionStatus.EXECUTING), str(ExecutionStatus.STOPPING)),
                ).fetchall()
                admit([(r["execution_id"], r["requested_by"]) for r in rows])
            conn.execute(
                "INSERT INTO executions (execution_id, pipeline, display_name, status, parameters, "
                "requested_by, git_sha, started_at, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    execution_id,
                    pipeline,
                    display_name,
                    str(ExecutionStatus.EXECUTING),
                    json.dumps(dict(parameters), sort_keys=True),
                    requested_by,
                    git_sha,
                    _ts(started_at),
                    owner,
                ),
            )
            conn.executemany(
                "INSERT INTO steps (execution_id, position, name, status) VALUES (?, ?, ?, ?)",
                [(execution_id, i, name, str(StepStatus.PENDING)) for i, name in enumerate(steps)],
            )
        return self.get_execution(execution_id)

    def get_execution(self, execution_id: str) -> Execution:
        rows = self._query("SELECT * FROM executions WHERE execution_id = ?", (execution_id,))
        if not rows:
            raise NotFound(f"pipeline execution {execution_id} does not exist")
        return self._execution(rows[0])

    def list_executions(self, pipeline: str, limit: int) -> list[Execution]:
        rows = self._query(
            "SELECT * FROM executions WHERE pipeline = ? ORDER BY started_at DESC, rowid DESC LIMIT ?",
            (pipeline, limit),
        )
        return [self._execution(r) for r in rows]

    def set_execution_status(
        self,
        execution_id: str,
        status: ExecutionStatus,
        *,
        only_from: Sequence[ExecutionStatus] | None = None,
        ended_at: datetime | None = None,
        failure_reason: str | None = None,
        model_version: int | None = None,
    ) -> ExecutionStatus | None:
        """Move an execution to ``status``; returns the previous status (None: ``only_from`` refused)."""
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT status FROM executions WHERE execution_id = ?", (execution_id,)
            ).fetchone()
            if row is None:
                raise NotFound(f"pipeline execution {execution_id} does not exist")
            previous = ExecutionStatus(row["status"])
            if only_from is not None and previous not in only_from:
                return None
            conn.execute(
                "UPDATE executions SET status = ?, ended_at = COALESCE(?, ended_at), "
                "failure_reason = COALESCE(?, failure_reason), model_version = COALESCE(?, model_version) "
                "WHERE execution_id = ?",
                (str(status), _ts(ended_at), failure_reason, model_version, execution_id),
            )
            return previous

    def set_step(
        self,
        execution_id: str,
        name: str,
        status: StepStatus,
        *,
        started_at: datetime | None = None,
        ended_at: datetime | None = None,
        failure_reason: str | None = None,
    ) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE steps SET status = ?, started_at = COALESCE(?, started_at), "
                "ended_at = COALESCE(?, ended_at), failure_reason = COALESCE(?, failure_reason) "
                "WHERE execution_id = ? AND name = ?",
                (str(status), _ts(started_at), _ts(ended_at), failure_reason, execution_id, name),
            )

    def unfinished_executions(self) -> list[tuple[str, str, str]]:
        """``(execution_id, pipeline, owner)`` of every execution not in a terminal status."""
        rows = self._query(
            "SELECT execution_id, pipeline, owner FROM executions WHERE status IN (?, ?)",
            (str(ExecutionStatus.EXECUTING), str(ExecutionStatus.STOPPING)),
        )
        return [(r["execution_id"], r["pipeline"], r["owner"]) for r in rows]

    def _execution(self, row: sqlite3.Row) -> Execution:
        step_rows = self._query(
            "SELECT * FROM steps WHERE execution_id = ? ORDER BY position", (row["execution_id"],)
        )
        steps = tuple(
            StepInfo(
                name=s["name"],
                status=StepStatus(s["status"]),
                started_at=_dt(s["started_at"]),
                ended_at=_dt(s["ended_at"]),
                failure_reason=s["failure_reason"],
            )
            for s in step_rows
        )
        return Execution(
            execution_id=row["execution_id"],
            status=ExecutionStatus(row["status"]),
            parameters={k: str(v) for k, v in json.loads(row["parameters"]).items()},
            requested_by=row["requested_by"],
            git_sha=row["git_sha"],
            started_at=_req_dt(row["started_at"]),
            ended_at=_dt(row["ended_at"]),
            failure_reason=row["failure_reason"],
            steps=steps,
            model_version=None if row["model_version"] is None else int(row["model_version"]),
        )

    def execution_display_name(self, execution_id: str) -> str:
        rows = self._query("SELECT display_name FROM executions WHERE execution_id = ?", (execution_id,))
        return str(rows[0]["display_name"]) if rows else execution_id

    # -- endpoints --------------------------------------------------------------------------------

    def get_endpoint(self, name: str) -> EndpointRow | None:
        rows = self._query("SELECT * FROM endpoints WHERE name = ?", (name,))
        return self._endpoint(rows[0]) if rows else None

    def list_endpoints(self) -> list[EndpointRow]:
        return [self._endpoint(r) for r in self._query("SELECT * FROM endpoints ORDER BY name")]

    def endpoint_generations(self) -> list[tuple[str, int]]:
        """The cheap poll an endpoint host runs: has anything changed since it last looked?"""
        return [
            (r["name"], int(r["generation"])) for r in self._query("SELECT name, generation FROM endpoints")
        ]

    def begin_endpoint_change(
        self,
        *,
        name: str,
        group: str,
        environment: Environment,
        version: int,
        model_dir: str,
        config_name: str,
        owner: str,
        owner_alive: Callable[[str], bool],
    ) -> EndpointRow:
        """Mark the endpoint Creating/Updating towards ``version``; refuse while another change runs."""
        now = utcnow()
        with self.transaction() as conn:
            row = conn.execute("SELECT * FROM endpoints WHERE name = ?", (name,)).fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO endpoints (name, grp, environment, status, version, target_version, "
                    "model_dir, target_model_dir, config_name, created_at, updated_at, failure_reason, "
                    "owner, generation) "
                    "VALUES (?, ?, ?, ?, NULL, ?, NULL, ?, ?, ?, ?, NULL, ?, 1)",
                    (
                        name,
                        group,
                        environment,
                        str(EndpointStatus.CREATING),
                        version,
                        model_dir,
                        config_name,
                        _ts(now),
                        _ts(now),
                        owner,
                    ),
                )
            else:
                current = self._endpoint(row)
                if (
                    current.status in TRANSITIONAL_ENDPOINT_STATUSES
                    and current.owner is not None
                    and owner_alive(current.owner)
                ):
                    raise InvalidRequest(
                        f"{environment} is {current.status} to v{current.target_version}: "
                        "wait for that change to finish"
                    )
                # An endpoint that never served anything is still being created, as in SageMaker.
                status = EndpointStatus.CREATING if current.version is None else EndpointStatus.UPDATING
                conn.execute(
                    "UPDATE endpoints SET status = ?, target_version = ?, target_model_dir = ?, "
                    "config_name = ?, updated_at = ?, failure_reason = NULL, owner = ?, "
                    "generation = generation + 1 WHERE name = ?",
                    (str(status), version, model_dir, config_name, _ts(now), owner, name),
                )
        row_after = self.get_endpoint(name)
        assert row_after is not None
        return row_after

    def finish_endpoint_change(
        self, name: str, *, deployed_by: str, kind: Literal["deploy", "rollback"]
    ) -> EndpointRow:
        """The host serves the target: record it as InService and append the deployment history."""
        now = utcnow()
        with self.transaction() as conn:
            row = self._endpoint(conn.execute("SELECT * FROM endpoints WHERE name = ?", (name,)).fetchone())
            conn.execute(
                "UPDATE endpoints SET status = ?, version = target_version, model_dir = target_model_dir, "
                "target_version = NULL, target_model_dir = NULL, updated_at = ?, owner = NULL, "
                "generation = generation + 1 WHERE name = ?",
                (str(EndpointStatus.IN_SERVICE), _ts(now), name),
            )
            conn.execute(
                "INSERT INTO deployments (endpoint, environment, version, deployed_at, deployed_by, kind, "
                "config_name) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (name, row.environment, row.target_version, _ts(now), deployed_by, kind, row.config_name),
            )
        row_after = self.get_endpoint(name)
        assert row_after is not None
        return row_after

    def fail_endpoint_change(self, name: str, reason: str) -> EndpointRow:
        """The change failed: the endpoint keeps (and its host keeps serving) the version it had."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE endpoints SET status = ?, target_version = NULL, target_model_dir = NULL, "
                "failure_reason = ?, updated_at = ?, owner = NULL, generation = generation + 1 "
                "WHERE name = ?",
                (str(EndpointStatus.FAILED), reason, _ts(utcnow()), name),
            )
        row_after = self.get_endpoint(name)
        assert row_after is not None
        return row_after

    def deployments(self, name: str) -> list[Deployment]:
        rows = self._query("SELECT * FROM deployments WHERE endpoint = ? ORDER BY id", (name,))
        return [
            Deployment(
                environment=cast(Environment, r["environment"]),
                version=int(r["version"]),
                deployed_at=_req_dt(r["deployed_at"]),
                deployed_by=r["deployed_by"],
                kind=cast(Literal["deploy", "rollback"], r["kind"]),
                config_name=r["config_name"],
            )
            for r in rows
        ]

    @staticmethod
    def _endpoint(row: sqlite3.Row) -> EndpointRow:
        return EndpointRow(
            name=row["name"],
            group=row["grp"],
            environment=cast(Environment, row["environment"]),
            status=EndpointStatus(row["status"]),
            version=None if row["version"] is None else int(row["version"]),
            target_version=None if row["target_version"] is None else int(row["target_version"]),
            model_dir=row["model_dir"],
            target_model_dir=row["target_model_dir"],
            config_name=row["config_name"],
            created_at=_req_dt(row["created_at"]),
            updated_at=_req_dt(row["updated_at"]),
            failure_reason=row["failure_reason"],
            owner=row["owner"],
            generation=int(row["generation"]),
        )


class OwnerToken:
    """Proves a process is alive: it holds an exclusive ``flock`` on ``run/<token>.lock`` until it exits.

    Executions and endpoint changes record their owner's token. Any process can then tell a run whose
    process died (the lock is free, whatever happened to the pid since) from one still in progress, even
    within one process (flock locks belong to the open file, not the process).
    """

    _TOKEN = re.compile(r"^[0-9]+-[0-9a-f]{12}$")

    def __init__(self, run_dir: Path) -> None:
        self._run_dir = Path(run_dir)
        self._run_dir.mkdir(parents=True, exist_ok=True)
        self.token = f"{os.getpid()}-{secrets.token_hex(6)}"
        self._path = self._run_dir / f"{self.token}.lock"
        self._handle: IO[str] | None = open(self._path, "w")  # noqa: SIM115 - held until release()
        fcntl.flock(self._handle, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def alive(self, token: str) -> bool:
        if token == self.token:
            return self._handle is not None
        if not self._TOKEN.match(token):
            return False
        path = self._run_dir / f"{token}.lock"
        try:
            handle = open(path, "r+")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            return False
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            path.unlink(missing_ok=True)  # its owner is gone: tidy up
            return False

    def release(self) -> None:
        if self._handle is None:
            return
        self._path.unlink(missing_ok=True)
        fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()
        self._handle = None
