"""A model version's drift baseline as stored: ``baseline/drift.json`` and ``evaluation.json``.

Standard library only: the platforms read it without numpy or pandas.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
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
