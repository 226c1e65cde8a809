"""The labelled rows validation sends: bundled ``adult.test`` by default, or a label-first CSV."""

from __future__ import annotations

import csv
import functools
import random
from dataclasses import dataclass
from pathlib import Path

from ml import datasets


@dataclass(frozen=True)
class LabelledSample:
    rows: list[list[str]]
    labels: list[int]
    source: str
    #: how many labelled rows the file holds: the sample is never bigger
    available: int


def load_sample(data_path: Path | None, sample_size: int, seed: int) -> LabelledSample:
    """Draw ``sample_size`` labelled rows (fixed seed) from an Adult-format file or a label-first CSV.

    A file holding fewer rows gives all of them (``available`` says how many). A label-first CSV is
    what preprocessing writes (``test.csv``): the 0/1 label, then the request columns (encoded or
    raw); an optional header line is skipped.
    """
    path = Path(data_path) if data_path is not None else datasets.adult_test_path()
    if not path.is_file():
        raise ValueError(f"validation data {path} does not exist")
    if sample_size < 1:
        raise ValueError("sample_size must be at least 1")
    stat = path.stat()
    rows, labels = _labelled_rows(path, stat.st_mtime_ns, stat.st_size)
    chosen = random.Random(seed).sample(range(len(rows)), min(sample_size, len(rows)))
    return LabelledSample(
        [list(rows[i]) for i in chosen], [labels[i] for i in chosen], str(path), available=len(rows)
    )


@functools.lru_cache(maxsize=4)
def _labelled_rows(
    path: Path, _mtime_ns: int, _size: int
) -> tuple[tuple[tuple[str, ...], ...], tuple[int, ...]]:
    """Every labelled row of ``path``, parsed once per version of the file (keyed by its mtime and size).

    Each staging validation of a process reads the same file, most often the bundled ``adult.test``.
    """
    rows: list[tuple[str, ...]] = []
    labels: list[int] = []
    if datasets.looks_like_adult(path):
        for values, label in datasets.iter_adult_rows(path):
            rows.append(tuple(values))
            labels.append(1 if label == datasets.ADULT_POSITIVE_LABEL else 0)
    else:
        with datasets.open_text(path) as handle:
            for line_no, fields in enumerate(csv.reader(handle), start=1):
                if not fields or not "".join(fields).strip():
                    continue
                parsed = _parse_label(fields[0])
                if parsed is None:
                    if line_no == 1:
                        continue  # header
                    raise ValueError(f"{path}: line {line_no} starts with {fields[0]!r}, not a 0/1 label")
                if len(fields) < 2:
                    raise ValueError(f"{path}: line {line_no} has a label but no feature values")
                rows.append(tuple(f.strip() for f in fields[1:]))
                labels.append(parsed)
    if not rows:
        raise ValueError(f"validation data {path} has no labelled rows")
    width = len(rows[0])
    ragged = next((i for i, row in enumerate(rows) if len(row) != width), None)
    if ragged is not None:
        raise ValueError(
            f"validation data {path}: labelled row {ragged + 1} has {len(rows[ragged])} values "
            f"but the first has {width}; every row must have the columns the endpoint takes"
        )
    return tuple(rows), tuple(labels)


def _parse_label(text: str) -> int | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return int(value) if value in (0.0, 1.0) else None
