"""The drift baseline of adult.data's training split and the held-out adult.test rows, shared read-only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ml.datasets import adult_test_path
from ml.drift.data import read_rows


@pytest.fixture(scope="session")
def adult_baseline(prepared_full: tuple[Path, dict[str, Any]]) -> dict[str, Any]:
    baseline: dict[str, Any] = json.loads((prepared_full[0] / "baseline" / "drift.json").read_text())
    return baseline


@pytest.fixture(scope="session")
def adult_test(adult_baseline: dict[str, Any]) -> pd.DataFrame:
    return read_rows(adult_test_path(), adult_baseline)


def shifted(rows: pd.DataFrame) -> pd.DataFrame:
    """``age`` + 20 and ``hours-per-week`` × 2; every other column as is."""
    copy = rows.copy()
    copy["age"] = (pd.to_numeric(copy["age"]) + 20).astype(str)
    copy["hours-per-week"] = (pd.to_numeric(copy["hours-per-week"]) * 2).astype(str)
    return copy
