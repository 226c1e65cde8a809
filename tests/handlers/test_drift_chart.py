"""When a drift card's chart is worth uploading again: a new version, status or set of drifting features."""

from __future__ import annotations

from handlers.drift_chart import chart_signature
from ml.drift.check import DriftReport, FeatureDrift
from ml.drift.environment import EnvironmentDrift


def _found(version: int, **status: str) -> EnvironmentDrift:
    features = [
        FeatureDrift(name, "numeric", {"ok": 0.01, "warn": 0.2, "drift": 1.0}[s], s, 0, 0, 0, (), 10)  # type: ignore[arg-type]
        for name, s in status.items()
    ]
    worst = "drift" if "drift" in status.values() else "warn" if "warn" in status.values() else "ok"
    return EnvironmentDrift("production", version, DriftReport(features, None, 10, 0, None, worst))  # type: ignore[arg-type]


def test_the_signature_changes_with_what_drifts_and_not_with_the_numbers() -> None:
    base = chart_signature(_found(1, age="drift", sex="ok"))
    assert base == "v1|drift|age:drift"
    assert chart_signature(_found(1, age="drift", sex="ok")) == base
    assert chart_signature(_found(2, age="drift", sex="ok")) != base  # another version
    assert chart_signature(_found(1, age="drift", sex="warn")) != base  # one more feature moves
    assert chart_signature(_found(1, age="warn", sex="ok")) != base  # the status eased
