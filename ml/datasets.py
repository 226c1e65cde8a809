"""The bundled UCI Adult data set: where it lives and how to read it with the standard library only.

Kept free of numpy/pandas on purpose: staging validation (``ml.validate``) reads held-out rows from
here and runs inside the bot's lean runtime.
"""

from __future__ import annotations

import csv
import gzip
import io
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
