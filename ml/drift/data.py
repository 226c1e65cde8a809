"""Read a CSV in the training data's raw layout (``mlops-bot drift --data FILE.csv``)."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ml.datasets import open_text


def read_rows(path: Path, baseline: Mapping[str, Any]) -> pd.DataFrame:
    """Rows of ``path`` as raw string columns named as the ``baseline``'s features, in its order.

    Each line holds the raw features in training order, optionally followed by the label (as in
    ``adult.data``; ``adult.test``'s trailing ``.`` and its ``|`` comment line are accepted). A first
    line naming the columns is a header and skipped. A ``.gz`` file is read compressed. Raises
    ValueError naming the line and what is wrong with it.
    """
    features: Mapping[str, Any] = baseline["features"]
    columns = list(features)
    target = str(baseline.get("target") or "")
    numeric = [i for i, c in enumerate(columns) if features[c]["kind"] == "numeric"]
    missing = set(baseline["missing_values"])
    rows: list[list[str]] = []
    lines: list[int] = []
    path = Path(path)
    try:
        with open_text(path) as handle:
            for line_no, fields in enumerate(csv.reader(handle, skipinitialspace=True), start=1):
                if not fields or (len(fields) == 1 and not fields[0].strip()) or fields[0].startswith("|"):
                    continue
                values = [f.strip() for f in fields]
                if not rows and values[: len(columns)] == columns:
                    continue  # a header row
                if len(values) not in (len(columns), len(columns) + 1):
                    raise ValueError(
                        f"{path.name} line {line_no}: {len(values)} fields; expected {len(columns)} "
                        f"features{f' (then optionally {target})' if target else ''} in training order"
                    )
                rows.append(values[: len(columns)])
                lines.append(line_no)
    except (OSError, UnicodeDecodeError, EOFError, csv.Error) as exc:
        raise ValueError(f"{path.name} is not a readable UTF-8 CSV file: {exc}") from exc
    if not rows:
        raise ValueError(f"{path.name} holds no data rows")
    frame = pd.DataFrame(rows, columns=columns, dtype=str)
    for index in numeric:
        cells = frame.iloc[:, index]
        bad = pd.to_numeric(cells.where(~cells.isin(missing)), errors="coerce").isna() & ~cells.isin(missing)
        if bool(bad.any()):
            at = int(bad.to_numpy().argmax())
            raise ValueError(
                f"{path.name} line {lines[at]}: {columns[index]} must be a number (or ? for missing)"
            )
    return frame
