"""The bundled UCI Adult data set: where it lives and how to read it with the standard library only.

Kept free of numpy/pandas on purpose: staging validation (``ml.validate``) reads held-out rows from
here and runs inside the bot's lean runtime.
"""

from __future__ import annotations

import csv
import gzip
import io
import random
from collections.abc import Iterator
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data" / "adult"

#: Column names from ``adult.names``, in file order; the last one is the label.
ADULT_COLUMNS: tuple[str, ...] = (
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
    "income",
)
ADULT_TARGET = "income"
ADULT_POSITIVE_LABEL = ">50K"
ADULT_NEGATIVE_LABEL = "<=50K"


def adult_train_path() -> Path:
    """``adult.data.gz``: the training file (32,561 rows)."""
    return _existing(DATA_DIR / "adult.data.gz")


def adult_test_path() -> Path:
    """``adult.test.gz``: rows no model trained on the bundled data has seen (16,281 rows)."""
    return _existing(DATA_DIR / "adult.test.gz")


#: Rows and seed of the stratified sample (``adult_sample``): quick to train, still above the 0.8 gate.
SAMPLE_ROWS = 3000
SAMPLE_SEED = 7


def adult_names_path() -> Path:
    return _existing(DATA_DIR / "adult.names")


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(
            f"bundled data file {path} is missing: the package was installed without data"
        )
    return path


def open_text(path: Path) -> io.TextIOBase:
    """Open a plain or gzip-compressed text file (decided by the ``.gz`` suffix)."""
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def normalise_adult_label(value: str) -> str:
    """``adult.test`` writes ``>50K.``; ``adult.data`` writes ``>50K``."""
    return value.strip().rstrip(".")


def iter_adult_rows(path: Path) -> Iterator[tuple[list[str], str]]:
    """Yield ``(raw feature values, normalised label)`` for each data line of an Adult-format file.

    Raw values are stripped strings in ``ADULT_COLUMNS`` order (without the label), ``?`` kept as is:
    the scorer treats ``?`` as missing, exactly as preprocessing does.
    """
    with open_text(path) as handle:
        for line_no, fields in enumerate(csv.reader(handle), start=1):
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            if fields[0].startswith("|"):
                continue
            if len(fields) != len(ADULT_COLUMNS):
                raise ValueError(
                    f"{path}: line {line_no} has {len(fields)} fields; Adult rows have {len(ADULT_COLUMNS)}"
                )
            values = [field.strip() for field in fields]
            label = normalise_adult_label(values[-1])
            if label not in (ADULT_POSITIVE_LABEL, ADULT_NEGATIVE_LABEL):
                raise ValueError(f"{path}: line {line_no} has label {values[-1]!r}, not >50K or <=50K")
            yield values[:-1], label


def looks_like_adult(path: Path) -> bool:
    """True when the file's first data line has the Adult shape (15 fields, an income label last)."""
    try:
        with open_text(path) as handle:
            for fields in csv.reader(handle):
                if not fields or fields[0].startswith("|") or not "".join(fields).strip():
                    continue
                return (
                    len(fields) == len(ADULT_COLUMNS)
                    and fields[0].strip().isdigit()
                    and normalise_adult_label(fields[-1]) in (ADULT_POSITIVE_LABEL, ADULT_NEGATIVE_LABEL)
                )
    except (OSError, UnicodeDecodeError, EOFError, gzip.BadGzipFile, csv.Error):
        return False
    return False


def adult_sample(rows: int = SAMPLE_ROWS, seed: int = SAMPLE_SEED, source: Path | None = None) -> list[str]:
    """A seeded sample of ``rows`` data lines of the Adult training file, stratified by label.

    Each label keeps its share of the file (rounded), and the lines keep their file order, so the
    same arguments always give the same lines: a small, real data set for work that does not
    measure model quality.
    """
    path = source or adult_train_path()
    by_label: dict[str, list[int]] = {}
    with open_text(path) as handle:
        lines = [line for line in handle if line.strip() and not line.startswith("|")]
    for index, line in enumerate(lines):
        by_label.setdefault(normalise_adult_label(line.rsplit(",", 1)[-1]), []).append(index)
    if not 0 < rows <= len(lines):
        raise ValueError(f"rows must be between 1 and {len(lines)} (the rows of {path.name}), not {rows}")
    rng = random.Random(seed)
    chosen: list[int] = []
    remaining = rows
    groups = sorted(by_label.items())
    for position, (_, indices) in enumerate(groups):
        share = remaining if position == len(groups) - 1 else round(rows * len(indices) / len(lines))
        chosen.extend(rng.sample(indices, min(share, len(indices))))
        remaining -= share
    return [lines[index] if lines[index].endswith("\n") else lines[index] + "\n" for index in sorted(chosen)]


def write_adult_sample(
    target: Path, rows: int = SAMPLE_ROWS, seed: int = SAMPLE_SEED, source: Path | None = None
) -> Path:
    """Write ``adult_sample(rows, seed, source)`` to ``target`` (plain text, Adult format); returns it."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(adult_sample(rows, seed, source)), encoding="utf-8")
    return target
