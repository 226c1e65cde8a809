"""Registered model versions: allocation, lookup and approval, as SageMaker's Model Registry keeps them."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from datetime import datetime

from ml.lifecycle import LifeCycle, registered
from ml.local.events import model_package_arn
from ml.platform import ApprovalStatus, ModelPackage, NotFound

from .database import Database, req_dt, ts


class ModelPackageStore(Database):
    """The ``model_packages`` table: one row per version of a model package group."""

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
        now = self.clock.now()
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT MAX(version) AS v FROM model_packages WHERE grp = ?", (group,)
            ).fetchone()
            version = int(row["v"] or 0) + 1
            uri = place(version)
            life = registered(str(approval_status))
            conn.execute(
                "INSERT INTO model_packages (grp, version, approval_status, approval_description, "
                "created_at, modified_at, metrics, artifact_uri, artifact_sha256, lineage, stage, "
                "stage_status, stage_description) VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    group,
                    version,
                    str(approval_status),
                    ts(now),
                    ts(now),
                    json.dumps(dict(metrics), sort_keys=True),
                    uri,
                    artifact_sha256,
                    json.dumps(dict(lineage), sort_keys=True),
                    life.stage,
                    life.status,
                    life.description,
                ),
            )
        return self.describe_model_package(group, version)

    def list_model_packages(self, group: str) -> list[ModelPackage]:
        rows = self._query("SELECT * FROM model_packages WHERE grp = ? ORDER BY version DESC", (group,))
        return [self._package(r) for r in rows]

    def registered_versions(self) -> set[int]:
        """Every version number registered in this home, of any group."""
        return {int(r["version"]) for r in self._query("SELECT DISTINCT version FROM model_packages")}

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
                (str(status), description, ts(self.clock.now()), group, version),
            )
            if cursor.rowcount == 0:
                raise NotFound(self._missing_version_message(group, version))
        return self.describe_model_package(group, version)

    def update_life_cycle(self, group: str, version: int, life_cycle: LifeCycle) -> ModelPackage:
        with self.transaction() as conn:
            cursor = conn.execute(
                "UPDATE model_packages SET stage = ?, stage_status = ?, stage_description = ?, "
                "modified_at = ? WHERE grp = ? AND version = ?",
                (
                    life_cycle.stage,
                    life_cycle.status,
                    life_cycle.description,
                    ts(self.clock.now()),
                    group,
                    version,
                ),
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
        return req_dt(rows[0]["modified_at"])

    @staticmethod
    def _package(row: sqlite3.Row) -> ModelPackage:
        return ModelPackage(
            version=int(row["version"]),
            arn=model_package_arn(row["grp"], int(row["version"])),
            group=row["grp"],
            approval_status=ApprovalStatus(row["approval_status"]),
            created_at=req_dt(row["created_at"]),
            approval_description=row["approval_description"],
            metrics={k: float(v) for k, v in json.loads(row["metrics"]).items()},
            artifact_uri=row["artifact_uri"],
            artifact_sha256=row["artifact_sha256"],
            lineage={k: str(v) for k, v in json.loads(row["lineage"]).items()},
            life_cycle=_life_cycle(row),
        )


def _life_cycle(row: sqlite3.Row) -> LifeCycle | None:
    if not row["stage"] or not row["stage_status"]:
        return None
    return LifeCycle(row["stage"], row["stage_status"], row["stage_description"] or "")
