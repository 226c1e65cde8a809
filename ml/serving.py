"""Scoring for every endpoint: turns a request body into probabilities of the positive class.

Request formats (``Content-Type``):

* ``text/csv``: one row per line, no header. A row is either *encoded* (exactly ``n_features`` numbers,
  what SageMaker's built-in XGBoost takes; an empty field is a missing value) or *raw* (the
  ``raw_columns`` of features.json in order, categoricals as strings; ``?`` or empty means missing).
* ``application/json``: ``{"instances": [...]}`` where each instance is a list (encoded or raw, as for
  CSV) or an object of raw values by column name (a column left out is missing).

Raw values are encoded exactly as preprocessing did: missing numerics take the training median, missing
categoricals the ``Unknown`` category, and a category never seen in training encodes as all zeros.

Responses (``Accept``; in-process callers default to the request's type, ``ml.inference`` to what the
container passes), one probability per row, in row order:

* ``text/csv``: one probability per line.
* ``application/json``: ``{"predictions": [{"score": 0.12}, ...]}`` (the built-in XGBoost layout).

Anything malformed raises ``BadInput`` (a ``ValueError``) with a message naming the row and column;
``ml.inference`` turns it into an HTTP 4xx answer. ``Scorer`` is safe to share between threads: it holds no
mutable state and ``Booster.inplace_predict`` is thread-safe.
"""

from __future__ import annotations

import csv
import io
import json
import math
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

CONTENT_TYPE_CSV = "text/csv"
CONTENT_TYPE_JSON = "application/json"
SUPPORTED_CONTENT_TYPES: tuple[str, ...] = (CONTENT_TYPE_CSV, CONTENT_TYPE_JSON)
MAX_ROWS = 10_000
#: SageMaker real-time endpoints refuse larger payloads too.
MAX_BODY_BYTES = 6 * 1024 * 1024

MODEL_FILE = "xgboost-model"
FEATURES_FILE = "features.json"
ARCHIVE_FILE = "model.tar.gz"


class BadInput(ValueError):
    """The request cannot be scored; the message says why (HTTP 400)."""


Row = Sequence[object] | Mapping[str, object]


@dataclass(frozen=True)
class _Column:
    name: str
    offset: int
    #: numeric: the fill value; categorical: None
    fill: float | None
    #: categorical: category -> index within its one-hot block
    categories: Mapping[str, int] | None


@dataclass(frozen=True)
class FeatureSpec:
    """The parts of ``features.json`` serving needs."""

    raw_columns: tuple[str, ...]
    feature_names: tuple[str, ...]
    target: str
    positive_label: str
    missing_values: frozenset[str]
    missing_category: str
    columns: tuple[_Column, ...]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> FeatureSpec:
        try:
            raw_columns = tuple(str(c) for c in data["raw_columns"])
            feature_names = tuple(str(f) for f in data["feature_names"])
            numeric_fill = {str(k): float(v) for k, v in data["numeric_fill"].items()}
            categorical = {str(k): [str(c) for c in v] for k, v in data["categorical_columns"].items()}
            missing_values = frozenset(str(v) for v in data.get("missing_values", ("", "?")))
            missing_category = str(data.get("missing_category", "Unknown"))
            target = str(data.get("target", ""))
            positive_label = str(data.get("positive_label", ""))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"{FEATURES_FILE} is malformed: {exc!r}") from exc
        columns: list[_Column] = []
        offset = 0
        for name in raw_columns:
            if name in numeric_fill:
                columns.append(_Column(name, offset, numeric_fill[name], None))
                offset += 1
            elif name in categorical:
                known = categorical[name]
                columns.append(_Column(name, offset, None, {c: i for i, c in enumerate(known)}))
                offset += len(known)
            else:
                raise ValueError(f"{FEATURES_FILE}: column {name!r} is neither numeric nor categorical")
        if offset != len(feature_names):
            raise ValueError(
                f"{FEATURES_FILE}: the columns encode to {offset} features but it names {len(feature_names)}"
            )
        return cls(
            raw_columns,
            feature_names,
            target,
            positive_label,
            missing_values,
            missing_category,
            tuple(columns),
        )

    def encode_values(self, values: Sequence[object], out: np.ndarray, row_no: int) -> None:
        """Encode one raw row (values in ``raw_columns`` order) into ``out`` (zeros on entry)."""
        for column, value in zip(self.columns, values, strict=True):
            self._encode_value(column, value, out, row_no)

    def encode_record(self, record: Mapping[str, object], out: np.ndarray, row_no: int) -> None:
        unknown = [k for k in record if k not in self.raw_columns and k != self.target]
        if unknown:
            names = ", ".join(repr(k) for k in unknown[:5])
            raise BadInput(
                f"row {row_no}: unknown field(s) {names}; expected fields: {', '.join(self.raw_columns)}"
            )
        for column in self.columns:
            self._encode_value(column, record.get(column.name), out, row_no)

    def _encode_value(self, column: _Column, value: object, out: np.ndarray, row_no: int) -> None:
        text = _as_text(value, row_no, column.name)
        missing = text is None or text in self.missing_values
        if column.categories is None:
            if missing:
                out[column.offset] = column.fill
                return
            out[column.offset] = _as_number(value, row_no, column.name, allow_missing=False)
            return
        category = self.missing_category if missing else text
        index = column.categories.get(category) if category is not None else None
        if index is not None:  # an unseen category stays all zeros, as in preprocessing
            out[column.offset + index] = 1.0


def _as_text(value: object, row_no: int, column: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    raise BadInput(f"row {row_no} column {column!r}: unsupported value {value!r}")


def _as_number(value: object, row_no: int, column: str, *, allow_missing: bool) -> float:
    if isinstance(value, bool):
        raise BadInput(f"row {row_no} column {column!r}: expected a number, got {value!r}")
    if value is None or (isinstance(value, str) and not value.strip()):
        if allow_missing:
            return math.nan
        raise BadInput(f"row {row_no} column {column!r}: missing value")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise BadInput(
                f"row {row_no} column {column!r}: {value.strip()[:40]!r} is not a number"
            ) from None
    else:
        raise BadInput(f"row {row_no} column {column!r}: expected a number, got {type(value).__name__}")
    if math.isinf(number):
        raise BadInput(f"row {row_no} column {column!r}: infinite values are not accepted")
    if math.isnan(number) and not allow_missing:
        raise BadInput(f"row {row_no} column {column!r}: missing value")
    return number


def base_type(content_type: str) -> str:
    """The media type of a Content-Type or Accept value, lower case, without parameters."""
    return content_type.split(";", 1)[0].strip().lower()


class Scorer:
    """A loaded model plus its feature encoding."""

    def __init__(self, booster: xgb.Booster, spec: FeatureSpec | None) -> None:
        self._booster = booster
        self._spec = spec
        self.n_features = int(booster.num_features())
        if spec is not None and len(spec.feature_names) != self.n_features:
            raise ValueError(
                f"the model takes {self.n_features} features "
                f"but {FEATURES_FILE} names {len(spec.feature_names)}"
            )

    @classmethod
    def load(cls, model_dir: Path) -> Scorer:
        """Load ``xgboost-model`` (+ optional ``features.json``) from a directory or its ``model.tar.gz``."""
        model_dir = Path(model_dir)
        model_path = model_dir / MODEL_FILE
        if model_path.is_file():
            model_bytes = model_path.read_bytes()
            features_path = model_dir / FEATURES_FILE
            features_bytes = features_path.read_bytes() if features_path.is_file() else None
        elif (model_dir / ARCHIVE_FILE).is_file():
            model_bytes, features_bytes = _read_archive(model_dir / ARCHIVE_FILE)
        else:
            raise ValueError(f"no {MODEL_FILE} or {ARCHIVE_FILE} in {model_dir}")
        booster = xgb.Booster()
        try:
            booster.load_model(bytearray(model_bytes))
        except xgb.core.XGBoostError as exc:
            raise ValueError(f"{model_dir}: {MODEL_FILE} is not an XGBoost model: {exc}") from exc
        spec = None
        if features_bytes is not None:
            try:
                spec = FeatureSpec.from_mapping(json.loads(features_bytes))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{model_dir}: {FEATURES_FILE} is not valid JSON: {exc}") from exc
        return cls(booster, spec)

    @property
    def raw_columns(self) -> tuple[str, ...]:
        return self._spec.raw_columns if self._spec is not None else ()

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self._spec.feature_names if self._spec is not None else ()

    @property
    def accepts_raw(self) -> bool:
        return self._spec is not None

    # -- scoring ----------------------------------------------------------
    def predict(self, body: bytes, content_type: str, accept: str | None = None) -> tuple[bytes, str]:
        """Score a request body; returns ``(response body, response content type)``."""
        rows = parse_request(body, content_type)
        response_type = response_type_for(accept, base_type(content_type))
        return encode_scores(self.predict_rows(rows), response_type), response_type

    def predict_rows(self, rows: Sequence[Row]) -> list[float]:
        """Probabilities for rows given as lists (encoded or raw) or dicts (raw, by column name)."""
        if isinstance(rows, str | bytes) or not isinstance(rows, Sequence):
            raise BadInput("rows must be a list of rows")
        if not rows:
            raise BadInput("no rows to score")
        if len(rows) > MAX_ROWS:
            raise BadInput(f"{len(rows)} rows in one request; the limit is {MAX_ROWS}")
        matrix = np.zeros((len(rows), self.n_features), dtype=np.float64)
        for index, row in enumerate(rows):
            self._encode_row(row, matrix[index], index + 1)
        scores = self._booster.inplace_predict(matrix, validate_features=False)
        return [float(s) for s in np.asarray(scores, dtype=np.float64).reshape(-1)]

    def _encode_row(self, row: Row, out: np.ndarray, row_no: int) -> None:
        spec = self._spec
        if isinstance(row, Mapping):
            if spec is None:
                raise BadInput(f"row {row_no}: records by column name need the model's {FEATURES_FILE}")
            spec.encode_record(row, out, row_no)
            return
        if isinstance(row, str | bytes) or not isinstance(row, Sequence):
            raise BadInput(f"row {row_no}: expected a list of values or an object, got {type(row).__name__}")
        if spec is not None and len(row) == len(spec.raw_columns):
            spec.encode_values(row, out, row_no)
        elif len(row) == self.n_features:
            for position, value in enumerate(row):
                out[position] = _as_number(value, row_no, f"feature {position + 1}", allow_missing=True)
        else:
            expected = f"{self.n_features} encoded features"
            if spec is not None:
                expected += f" or {len(spec.raw_columns)} raw columns ({', '.join(spec.raw_columns)})"
            raise BadInput(f"row {row_no} has {len(row)} values; expected {expected}")


# -- the request and response formats ---------------------------------------------------------------
def parse_request(body: bytes | str, content_type: str) -> list[Row]:
    """The rows of a request body (not yet encoded: that needs the model's ``features.json``)."""
    request_type = base_type(content_type or "")
    if request_type not in SUPPORTED_CONTENT_TYPES:
        raise BadInput(
            f"unsupported content type {content_type!r}; use one of: {', '.join(SUPPORTED_CONTENT_TYPES)}"
        )
    if isinstance(body, str):
        text = body
        size = len(body.encode("utf-8", "surrogatepass"))
    else:
        size = len(body)
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise BadInput(f"request body is not UTF-8: {exc}") from None
    if size > MAX_BODY_BYTES:
        raise BadInput(f"request body of {size} bytes exceeds the {MAX_BODY_BYTES}-byte limit")
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise BadInput("empty request body")
    if request_type == CONTENT_TYPE_CSV:
        return _parse_csv(text)
    return _parse_json(text)


def response_type_for(accept: str | None, request_type: str | None = None) -> str:
    """The response content type for an ``Accept`` value (a list, or a wildcard, is fine)."""
    fallback = request_type if request_type in SUPPORTED_CONTENT_TYPES else CONTENT_TYPE_JSON
    if not accept:
        return str(fallback)
    wanted = [base_type(part) for part in accept.split(",")]
    matches = [t for t in wanted if t in SUPPORTED_CONTENT_TYPES]
    if matches:
        return matches[0]
    if any(t in ("*/*", "text/*", "application/*") for t in wanted):
        return str(fallback)
    raise BadInput(f"unsupported Accept {accept!r}; use one of: {', '.join(SUPPORTED_CONTENT_TYPES)}")


def encode_scores(scores: Sequence[float], response_type: str) -> bytes:
    """One probability per row: a line each in CSV, ``{"predictions": [{"score": p}, ...]}`` in JSON."""
    if response_type == CONTENT_TYPE_CSV:
        return "".join(f"{score:.9g}\n" for score in scores).encode()
    return json.dumps({"predictions": [{"score": score} for score in scores]}).encode()


def _parse_csv(text: str) -> list[Row]:
    rows: list[Row] = []
    try:
        for fields in csv.reader(io.StringIO(text)):
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            rows.append([field.strip() for field in fields])
            if len(rows) > MAX_ROWS:
                raise BadInput(f"more than {MAX_ROWS} rows in one request")
    except csv.Error as exc:
        raise BadInput(f"malformed CSV: {exc}") from None
    return rows


def _parse_json(text: str) -> list[Row]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"malformed JSON: {exc}") from None
    if not isinstance(document, dict) or "instances" not in document:
        raise BadInput('JSON body must be an object with an "instances" list')
    instances = document["instances"]
    if not isinstance(instances, list):
        raise BadInput('"instances" must be a list')
    if len(instances) > MAX_ROWS:
        raise BadInput(f"{len(instances)} rows in one request; the limit is {MAX_ROWS}")
    return instances


def _read_archive(archive: Path) -> tuple[bytes, bytes | None]:
    """Read the model files straight out of ``model.tar.gz`` (nothing is extracted to disk)."""
    model_bytes: bytes | None = None
    features_bytes: bytes | None = None
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar.getmembers():
                if not member.isfile():
                    continue
                name = Path(member.name).name
                if name not in (MODEL_FILE, FEATURES_FILE):
                    continue
                handle = tar.extractfile(member)
                if handle is None:
                    continue
                data = handle.read()
                if name == MODEL_FILE:
                    model_bytes = data
                else:
                    features_bytes = data
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ValueError(f"{archive} is not a readable model archive: {exc}") from exc
    if model_bytes is None:
        raise ValueError(f"{archive} holds no {MODEL_FILE}")
    return model_bytes, features_bytes
