"""What a registered version's folder (``home/artifacts/models/v<N>/``) holds besides its model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ml.drift import stored
from ml.evidence import report as evidence_report


def baseline(folder: Path) -> dict[str, Any] | None:
    """``baseline/drift.json`` of the folder, joined with its ``evaluation.json`` scores (None: none)."""
    try:
        drift = (folder / "baseline" / stored.BASELINE_FILE).read_bytes()
    except FileNotFoundError:
        return None
    evaluation = folder / "evaluation.json"
    return stored.join(drift, evaluation.read_bytes() if evaluation.is_file() else None)


def evaluation(folder: Path) -> dict[str, Any] | None:
    """``evaluation.json`` of the folder, with its ``baseline/statistics.json`` data (None: no report)."""
    report, statistics = folder / "evaluation.json", folder / "baseline" / "statistics.json"
    if not report.is_file():
        return None
    return evidence_report.join(
        report.read_bytes(), statistics.read_bytes() if statistics.is_file() else None
    )
