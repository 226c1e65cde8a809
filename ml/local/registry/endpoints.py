"""Endpoints as stored: what each serves, the change in flight, and the deployment history."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast

from ml.platform import Deployment, EndpointInfo, EndpointStatus, Environment, InvalidRequest

from .database import Database, req_dt, ts

TRANSITIONAL_ENDPOINT_STATUSES = (EndpointStatus.CREATING, EndpointStatus.UPDATING)


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

    def info(self) -> EndpointInfo:
        """The endpoint as the platform interface describes it."""
        return EndpointInfo(
            environment=self.environment,
            name=self.name,
            status=self.status,
            version=self.version,
            updated_at=self.updated_at,
            failure_reason=self.failure_reason,
        )


class EndpointStore(Database):
    """The ``endpoints`` and ``deployments`` tables."""

    def get_endpoint(self, name: str) -> EndpointRow | None:
        rows = self._query("SELECT * FROM endpoints WHERE name = ?", (name,))
        return self._endpoint(rows[0]) if rows else None

    def require_endpoint(self, name: str) -> EndpointRow:
        """An endpoint this process has just written, so it exists."""
        row = self.get_endpoint(name)
        assert row is not None
        return row

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
        now = self.clock.now()
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
                        ts(now),
                        ts(now),
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
                    (str(status), version, model_dir, config_name, ts(now), owner, name),
                )
                # A new update replaces the variants of the last one (a warm standby included).
                conn.execute("DELETE FROM endpoint_variants WHERE endpoint = ?", (name,))
        return self.require_endpoint(name)

    def finish_endpoint_change(
        self, name: str, *, deployed_by: str, kind: Literal["deploy", "rollback"]
    ) -> EndpointRow:
        """The host serves the target: record it as InService and append the deployment history."""
        now = self.clock.now()
        with self.transaction() as conn:
            row = self._endpoint(conn.execute("SELECT * FROM endpoints WHERE name = ?", (name,)).fetchone())
            conn.execute(
                "UPDATE endpoints SET status = ?, version = target_version, model_dir = target_model_dir, "
                "target_version = NULL, target_model_dir = NULL, updated_at = ?, owner = NULL, "
                "generation = generation + 1 WHERE name = ?",
                (str(EndpointStatus.IN_SERVICE), ts(now), name),
            )
            conn.execute(
                "INSERT INTO deployments (endpoint, environment, version, deployed_at, deployed_by, kind, "
                "config_name) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (name, row.environment, row.target_version, ts(now), deployed_by, kind, row.config_name),
            )
        return self.require_endpoint(name)

    def fail_endpoint_change(self, name: str, reason: str) -> EndpointRow:
        """The change failed: the endpoint keeps (and its host keeps serving) the version it had."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM endpoint_variants WHERE endpoint = ?", (name,))
            conn.execute(
                "UPDATE rollouts SET phase = 'failed', verdict = ?, stage_ends_at = NULL, ends_at = NULL "
                "WHERE endpoint = ? AND phase IN ('provisioning', 'shifting', 'baking')",
                (reason, name),
            )
            conn.execute(
                "UPDATE endpoints SET status = ?, target_version = NULL, target_model_dir = NULL, "
                "failure_reason = ?, updated_at = ?, owner = NULL, generation = generation + 1 "
                "WHERE name = ?",
                (str(EndpointStatus.FAILED), reason, ts(self.clock.now()), name),
            )
        return self.require_endpoint(name)

    def deployments(self, name: str) -> list[Deployment]:
        rows = self._query("SELECT * FROM deployments WHERE endpoint = ? ORDER BY id", (name,))
        return [
            Deployment(
                environment=cast(Environment, r["environment"]),
                version=int(r["version"]),
                deployed_at=req_dt(r["deployed_at"]),
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
            created_at=req_dt(row["created_at"]),
            updated_at=req_dt(row["updated_at"]),
            failure_reason=row["failure_reason"],
            owner=row["owner"],
            generation=int(row["generation"]),
        )
