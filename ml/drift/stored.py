"""Drift files as the platforms store them: a version's baseline (``baseline/drift.json`` and
``evaluation.json``) and an endpoint's captured traffic (``<variant>/yyyy/mm/dd/hh/*.jsonl``).

Standard library only: the platforms read them without numpy or pandas.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

#: the raw-feature part, written by the preprocess step into its ``baseline`` output
BASELINE_FILE = "drift.json"
#: where the evaluate step puts the score part inside ``evaluation.json``
SCORE_KEY = "score_baseline"


def join(drift_json: bytes | str, evaluation_json: bytes | str | None) -> dict[str, Any]:
    """The baseline of ``drift.json`` with the score part of ``evaluation.json`` (if it has one).

    ValueError when ``drift.json`` is not a JSON object; an unreadable evaluation report only leaves the
    score part out.
    """
    baseline = json.loads(drift_json)
    if not isinstance(baseline, dict) or "features" not in baseline:
        raise ValueError(f"{BASELINE_FILE} is not a drift baseline")
    if baseline.get("score") is None and evaluation_json is not None:
        try:
            report = json.loads(evaluation_json)
        except ValueError:
            report = None
        score = report.get(SCORE_KEY) if isinstance(report, Mapping) else None
        if isinstance(score, Mapping):
            baseline["score"] = dict(score)
    return baseline


def hour_may_hold(parts: Sequence[str], cutoff: datetime | None) -> bool:
    """Whether the hour folder ``yyyy/mm/dd/hh`` (``parts``, four names) can hold records at or after
    ``cutoff`` (False when the names are not an hour)."""
    try:
        year, month, day, hour = parts
        start = datetime(int(year), int(month), int(day), int(hour), tzinfo=UTC)
    except ValueError:
        return False
    return cutoff is None or start + timedelta(hours=1) > cutoff


def capture_files(folder: Path, cutoff: datetime | None) -> Iterator[Path]:
    """The capture files under ``folder`` (one endpoint: ``<variant>/yyyy/mm/dd/hh/*.jsonl``) in hours
    that can hold records at or after ``cutoff``, oldest hour first."""
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*/[0-9]*/[0-9]*/[0-9]*/[0-9]*/*.jsonl"), key=lambda p: p.parts[-5:]):
        if hour_may_hold(path.parts[-5:-1], cutoff):
            yield path
