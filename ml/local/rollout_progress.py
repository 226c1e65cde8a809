"""``rollout_progress`` of the local platform: the persisted rollout plus the endpoint host's counts.

Works from any process of the home: the rollout's stage is in the registry, the counts are read from
the host (in this process, or its own over ``GET /endpoints``).
"""

from __future__ import annotations

from typing import Any, Literal

from ml.platform import Environment
from ml.rollout_state import RolloutProgress, VariantTraffic

from .host_link import HostLink, endpoint_entry
from .registry import Registry, variant_name


def progress(
    registry: Registry, link: HostLink, environment: Environment, name: str
) -> RolloutProgress | None:
    record = registry.rollout(name)
    if record is None:
        return None
    counts = {
        str(item.get("name")): item
        for item in endpoint_entry(link.status(), name).get("variants") or []
        if isinstance(item, dict)
    }
    rows = registry.variants(name)
    shares: list[tuple[str, int | None, Literal["new", "old", "warm"], int]]
    if rows:
        shares = [(v.name, v.version, v.role, v.weight) for v in rows]
    else:
        row = registry.get_endpoint(name)
        serving = row.version if row is not None else None
        shares = [("AllTraffic", serving, "new" if serving == record.to_version else "old", 100)]
    variants = tuple(
        _traffic(n, version, role, weight, counts.get(n) or counts.get(variant_name(version or 0)))
        for n, version, role, weight in shares
    )
    return RolloutProgress(
        environment=environment,
        to_version=record.to_version,
        from_version=record.from_version,
        policy=record.policy,
        phase=record.phase,
        traffic_percent=record.traffic_percent,
        variants=variants,
        alarms=record.alarms,
        started_at=record.started_at,
        stage_ends_at=record.stage_ends_at,
        ends_at=record.ends_at,
        verdict=record.verdict,
        ended_by=record.ended_by,
        can_finish=True,
    )


def _traffic(
    name: str, version: int | None, role: Any, weight: int, entry: dict[str, Any] | None
) -> VariantTraffic:
    total = (entry or {}).get("total") or {}
    p99 = total.get("p99_ms")
    return VariantTraffic(
        name=name,
        version=version,
        role=role,
        weight_percent=float(weight),
        invocations=int(total.get("invocations") or 0),
        errors=int(total.get("errors") or 0),
        p99_ms=None if p99 is None else float(p99),
    )
