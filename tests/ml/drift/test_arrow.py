from __future__ import annotations

import pandas as pd
import pyarrow as pa

from ml.drift import arrow

COLUMNS = ["a", "b", "c"]


def test_frame_keeps_rows_of_the_right_width_and_counts_the_others() -> None:
    chunks = [pa.array(["1, x, 2", "1,2,3,4,5", "  "]), pa.array(["3 ,y , 4"])]
    result = arrow.frame(chunks, COLUMNS)
    assert result is not None
    rows, others = result
    assert rows.values.tolist() == [["1", "x", "2"], ["3", "y", "4"]]
    assert others == 1  # the five-field row; the blank one is no row at all


def test_floats_parses_numbers_and_declines_anything_else() -> None:
    numbers = arrow.floats(pd.Series(["1", "2.5", "-3"]))
    assert numbers is not None and numbers.tolist() == [1.0, 2.5, -3.0]
    assert arrow.floats(pd.Series(["1", "old"])) is None


def test_frame_of_no_rows_is_an_empty_table() -> None:
    result = arrow.frame([pa.array([], pa.string())], COLUMNS)
    assert result is not None and result[0].empty and list(result[0].columns) == COLUMNS and result[1] == 0


def test_a_trimmed_frame_is_checked_as_the_same_rows_untrimmed() -> None:
    from ml.drift.check import check

    rows, _ = arrow.frame([pa.array(["1, x, 2", "3 ,y , 4", "5, x ,6"])], COLUMNS) or (None, 0)
    assert rows is not None and rows.attrs.get(arrow.TRIMMED) is True
    spaced = pd.DataFrame([[" 1", " x ", "2 "], ["3 ", "y ", " 4"], ["5", " x", "6"]], columns=COLUMNS)
    baseline = {
        "format_version": 1,
        "missing_values": ["?", ""],
        "features": {
            "a": {"kind": "numeric", "edges": [2.0], "proportions": [0.5, 0.5], "missing_rate": 0.0},
            "b": {"kind": "categorical", "categories": ["x"], "proportions": [0.5, 0.5], "missing_rate": 0.0},
        },
    }
    assert check(baseline, rows).to_dict() == check(baseline, spaced).to_dict()
    assert check(baseline, spaced).features[1].bins[0][2] == 2 / 3  # " x " counted as x
