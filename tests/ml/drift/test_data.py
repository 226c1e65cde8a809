from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ml.drift.data import read_rows

ROW = (
    "39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, "
    "2174, 0, 40, United-States"
)


@pytest.mark.parametrize("label", ["", ", <=50K", ", >50K."])
def test_rows_with_or_without_the_label(tmp_path: Path, adult_baseline: dict[str, Any], label: str) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(f"{ROW}{label}\n\n{ROW.replace('State-gov', '?')}{label}\n")
    rows = read_rows(path, adult_baseline)
    assert isinstance(rows, pd.DataFrame) and list(rows.columns) == list(adult_baseline["features"])
    assert rows["workclass"].tolist() == ["State-gov", "?"]


def test_a_header_row_is_skipped(tmp_path: Path, adult_baseline: dict[str, Any]) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(",".join(adult_baseline["features"]) + "\n" + ROW + "\n")
    assert len(read_rows(path, adult_baseline)) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"{ROW}\n39, State-gov\n", "rows.csv line 2: 2 fields; expected 14 features"),
        (f"{ROW}\n{ROW.replace('39', 'old', 1)}\n", "rows.csv line 2: age must be a number"),
        ("", "rows.csv holds no data rows"),
    ],
)
def test_bad_files_name_the_line_and_the_problem(
    tmp_path: Path, adult_baseline: dict[str, Any], text: str, message: str
) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_rows(path, adult_baseline)
