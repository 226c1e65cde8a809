"""Weighted production variants of an endpoint, and the rollout that moves traffic between them.

An endpoint with no variant rows serves its one version as ``AllTraffic`` (every endpoint before
rollouts existed, and every endpoint between them). During a rollout it has two rows (``old`` and
``new``); after a promote with warm rollback on, the promoted one (``new``, all the weight) and the one
it replaced (``warm``, weight 0 until ``warm_until``). Every change bumps the endpoint's generation,
so a host polling the endpoints table sees it even without a nudge.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast

from ml.rollout_policy import RolloutPolicy
from ml.rollout_state import AlarmState, RolloutPhase

from .database import Database, dt, req_dt, ts

VariantRole = Literal["new", "old", "warm"]
RolloutRequest = Literal["stop", "finish"]


def variant_name(version: int) -> str:
    """The variant that serves ``version`` (the runtime names it in ``x-Amzn-Invoked-Production-Variant``)."""
    return f"v{version}"


@dataclass(frozen=True)
class VariantRow:
    name: str
    version: int
    model_dir: str
    #: share of traffic, in percent
    weight: int
    role: VariantRole
    #: when a ``warm`` variant's retention ends
    warm_until: datetime | None
    #: the start of the counts the host reports for it ("since the rollout began")
    counted_since: datetime


@dataclass(frozen=True)
class RolloutRow:
    endpoint: str
    environment: Literal["staging", "production"]
    to_version: int
    from_version: int | None
    policy: RolloutPolicy
    phase: RolloutPhase
    traffic_percent: int
    alarms: tuple[AlarmState, ...]
    started_at: datetime
    stage_ends_at: datetime | None = None
    ends_at: datetime | None = None
    verdict: str = ""
    ended_by: str = ""
    request: RolloutRequest | None = None
    requested_by: str | None = None


class VariantStore(Database):
    """The ``endpoint_variants`` and ``rollouts`` tables."""

    def variants(self, endpoint: str) -> list[VariantRow]:
        rows = self._query(
            "SELECT * FROM endpoint_variants WHERE endpoint = ? ORDER BY position", (endpoint,)
        )
        return [
            VariantRow(
                name=r["name"],
                version=int(r["version"]),
                model_dir=r["model_dir"],
                weight=int(r["weight"]),
                role=cast(VariantRole, r["role"]),
                warm_until=dt(r["warm_until"]),
                counted_since=req_dt(r["counted_since"]),
            )
            for r in rows
        ]

    def set_variants(self, endpoint: str, variants: Sequence[VariantRow]) -> None:
        """Replace the endpoint's variants (none: it serves its one version again)."""
        with self.transaction() as conn:
            self.write_variants(conn, endpoint, variants)

    @staticmethod
    def write_variants(conn: sqlite3.Connection, endpoint: str, variants: Sequence[VariantRow]) -> None:
        """``set_variants`` inside a caller's transaction."""
        conn.execute("DELETE FROM endpoint_variants WHERE endpoint = ?", (endpoint,))
        for position, v in enumerate(variants):
            conn.execute(
                "INSERT INTO endpoint_variants (endpoint, name, version, model_dir, weight, role, "
                "warm_until, counted_since, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    endpoint,
                    v.name,
                    v.version,
                    v.model_dir,
                    v.weight,
                    v.role,
                    ts(v.warm_until),
                    ts(v.counted_since),
                    position,
                ),
            )
        conn.execute("UPDATE endpoints SET generation = generation + 1 WHERE name = ?", (endpoint,))

    def shift_to_warm(
        self,
        endpoint: str,
        warm: VariantRow,
        variants: Sequence[VariantRow],
        config_name: str,
        deployed_by: str,
    ) -> None:
        """Serve the warm variant ``warm`` (now in ``variants`` with all the weight) and record a rollback."""
        now = self.clock.now()
        with self.transaction() as conn:
            conn.execute(
                "UPDATE endpoints SET status = 'InService', version = ?, model_dir = ?, config_name = ?, "
                "target_version = NULL, target_model_dir = NULL, failure_reason = NULL, updated_at = ?, "
                "owner = NULL WHERE name = ?",
                (warm.version, warm.model_dir, config_name, ts(now), endpoint),
            )
            self.write_variants(conn, endpoint, variants)
            environment = conn.execute(
                "SELECT environment FROM endpoints WHERE name = ?", (endpoint,)
            ).fetchone()
            conn.execute(
                "INSERT INTO deployments (endpoint, environment, version, deployed_at, deployed_by, kind, "
                "config_name) VALUES (?, ?, ?, ?, ?, 'rollback', ?)",
                (endpoint, environment["environment"], warm.version, ts(now), deployed_by, config_name),
            )

    # -- rollouts ----------------------------------------------------------------------------------

    def rollout(self, endpoint: str) -> RolloutRow | None:
        rows = self._query("SELECT * FROM rollouts WHERE endpoint = ?", (endpoint,))
        return _rollout(rows[0]) if rows else None

    def save_rollout(self, row: RolloutRow) -> None:
        """Write the rollout's state; a pending stop or finish request is kept unless ``row`` ends it."""
        policy = row.policy
        alarms = [{"name": a.name, "state": a.state, "reason": a.reason} for a in row.alarms]
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO rollouts (endpoint, environment, to_version, from_version, policy, phase, "
                "traffic_percent, alarms, started_at, stage_ends_at, ends_at, verdict, ended_by, request, "
                "requested_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (endpoint) DO UPDATE SET environment = excluded.environment, "
                "to_version = excluded.to_version, from_version = excluded.from_version, "
                "policy = excluded.policy, phase = excluded.phase, "
                "traffic_percent = excluded.traffic_percent, alarms = excluded.alarms, "
                "started_at = excluded.started_at, stage_ends_at = excluded.stage_ends_at, "
                "ends_at = excluded.ends_at, verdict = excluded.verdict, ended_by = excluded.ended_by, "
                "request = CASE WHEN excluded.started_at = rollouts.started_at "
                "AND excluded.phase NOT IN ('promoted', 'rolled-back', 'stopped', 'failed') "
                "THEN rollouts.request ELSE excluded.request END, "
                "requested_by = CASE WHEN excluded.started_at = rollouts.started_at "
                "AND excluded.phase NOT IN ('promoted', 'rolled-back', 'stopped', 'failed') "
                "THEN rollouts.requested_by ELSE excluded.requested_by END",
                (
                    row.endpoint,
                    row.environment,
                    row.to_version,
                    row.from_version,
                    json.dumps(
                        {
                            "kind": policy.kind,
                            "percent": policy.percent,
                            "wait_seconds": policy.wait_seconds,
                            "bake_seconds": policy.bake_seconds,
                            "timeout_seconds": policy.timeout_seconds,
                        }
                    ),
                    row.phase,
                    row.traffic_percent,
                    json.dumps(alarms),
                    ts(row.started_at),
                    ts(row.stage_ends_at),
                    ts(row.ends_at),
                    row.verdict,
                    row.ended_by,
                    row.request,
                    row.requested_by,
                ),
            )

    def request_rollout(self, endpoint: str, request: RolloutRequest, by: str) -> RolloutRow | None:
        """Ask the running rollout of ``endpoint`` to stop or finish; None when none is running.

        The first request wins: a stop is not turned into a finish by a later click, nor the reverse.
        """
        with self.transaction() as conn:
            conn.execute(
                "UPDATE rollouts SET request = ?, requested_by = ? WHERE endpoint = ? AND request IS NULL "
                "AND phase NOT IN ('promoted', 'rolled-back', 'stopped', 'failed')",
                (request, by, endpoint),
            )
        row = self.rollout(endpoint)
        return row if row is not None and row.phase in ("provisioning", "shifting", "baking") else None


def _rollout(r: sqlite3.Row) -> RolloutRow:
    policy = json.loads(r["policy"])
    return RolloutRow(
        endpoint=r["endpoint"],
        environment=cast(Literal["staging", "production"], r["environment"]),
        to_version=int(r["to_version"]),
        from_version=None if r["from_version"] is None else int(r["from_version"]),
        policy=RolloutPolicy(
            policy["kind"],
            int(policy["percent"]),
            int(policy["wait_seconds"]),
            int(policy["bake_seconds"]),
            int(policy["timeout_seconds"]),
        ),
        phase=cast(RolloutPhase, r["phase"]),
        traffic_percent=int(r["traffic_percent"]),
        alarms=tuple(AlarmState(a["name"], a["state"], a.get("reason", "")) for a in json.loads(r["alarms"])),
        started_at=req_dt(r["started_at"]),
        stage_ends_at=dt(r["stage_ends_at"]),
        ends_at=dt(r["ends_at"]),
        verdict=r["verdict"],
        ended_by=r["ended_by"],
        request=cast(RolloutRequest | None, r["request"]),
        requested_by=r["requested_by"],
    )
