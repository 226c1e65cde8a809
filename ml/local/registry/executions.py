"""Pipeline executions and their steps: admission, status moves and what a dead process left behind."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from ml.platform import Execution, ExecutionStatus, NotFound, StepInfo, StepStatus

from .database import Database, dt, req_dt, ts

UNFINISHED = (str(ExecutionStatus.EXECUTING), str(ExecutionStatus.STOPPING))


class ExecutionStore(Database):
    """The ``executions`` and ``steps`` tables."""

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
        origin: Mapping[str, str] | None = None,
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
                    (pipeline, *UNFINISHED),
                ).fetchall()
                admit([(r["execution_id"], r["requested_by"]) for r in rows])
            conn.execute(
                "INSERT INTO executions (execution_id, pipeline, display_name, status, parameters, "
                "requested_by, git_sha, started_at, owner, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    execution_id,
                    pipeline,
                    display_name,
                    str(ExecutionStatus.EXECUTING),
                    json.dumps(dict(parameters), sort_keys=True),
                    requested_by,
                    git_sha,
                    ts(started_at),
                    owner,
                    json.dumps(dict(origin or {}), sort_keys=True),
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
                (str(status), ts(ended_at), failure_reason, model_version, execution_id),
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
                (str(status), ts(started_at), ts(ended_at), failure_reason, execution_id, name),
            )

    def unfinished_executions(self) -> list[tuple[str, str, str]]:
        """``(execution_id, pipeline, owner)`` of every execution not in a terminal status."""
        rows = self._query(
            "SELECT execution_id, pipeline, owner FROM executions WHERE status IN (?, ?)", UNFINISHED
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
                started_at=dt(s["started_at"]),
                ended_at=dt(s["ended_at"]),
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
            started_at=req_dt(row["started_at"]),
            ended_at=dt(row["ended_at"]),
            failure_reason=row["failure_reason"],
            steps=steps,
            model_version=None if row["model_version"] is None else int(row["model_version"]),
            origin={k: str(v) for k, v in json.loads(row["origin"] or "{}").items()},
        )

    def execution_display_name(self, execution_id: str) -> str:
        rows = self._query("SELECT display_name FROM executions WHERE execution_id = ?", (execution_id,))
        return str(rows[0]["display_name"]) if rows else execution_id
