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
