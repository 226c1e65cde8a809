"""Algorithm mode of SageMaker's XGBoost container: no inference script, numeric rows only.

Facts taken from ``aws/sagemaker-xgboost-container`` (``algorithm_mode/serve.py``, ``serve_utils.py``,
``encoder.py``, ``data_utils.py``):

* at start every file of the model directory not starting with ``.`` is loaded as a booster (ensemble
  inference is on unless ``SAGEMAKER_INFERENCE_ENSEMBLE`` says otherwise); one that does not load stops
  the container. (Pickled boosters are not read here: the project writes XGBoost JSON only.)
* ``POST /invocations``: an empty body answers 204. The content type (none means libsvm) must be CSV,
  libsvm, parquet or recordio-protobuf, else 415 "<type> is not an accepted ContentType: ...".
  CSV: the body is stripped and decoded, the delimiter sniffed from the first line, empty fields read as
  NaN and every value converted to float; any failure answers 415 "Loading csv data failed with
  Exception, please ensure data is in csv format:\\n <class ...>\\n <message>". So a row holding a
  string is refused, while a row with fewer columns than the model has is scored without complaint
  (a booster loaded from JSON gets no feature-count check).
* a prediction failure answers 400 "Unable to evaluate payload provided: ..."; the ``Accept`` header
  (default ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``, else ``text/csv``) must be JSON, JSON Lines,
  recordio-protobuf or CSV, else 406. JSON is ``{"predictions": [{"score": p}, ...]}``; CSV one value
  per line. Error bodies are Flask text responses (HTML content type).

recordio-protobuf is not decoded or encoded locally: such requests get the container's status with a
message saying so.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from .container import ContainerResponse, mimetype_header, text_response

log = logging.getLogger(__name__)

SUPPORTED_ACCEPTS = [
    "application/json",
    "application/jsonlines",
    "application/x-recordio-protobuf",
    "text/csv",
]
_CSV, _LIBSVM, _PARQUET, _RECORDIO = "csv", "libsvm", "parquet", "recordio-protobuf"
_CONTENT_TYPES = {
    _CSV: _CSV,
    "text/csv": _CSV,
    _LIBSVM: _LIBSVM,
    "text/libsvm": _LIBSVM,
    "text/x-libsvm": _LIBSVM,
    _PARQUET: _PARQUET,
    "application/x-parquet": _PARQUET,
    _RECORDIO: _RECORDIO,
    "application/x-recordio-protobuf": _RECORDIO,
}
_ACCEPTED_LIST = ", ".join(
    [
        *(_CSV, _LIBSVM, _PARQUET, _RECORDIO, "text/csv", "text/libsvm", "text/x-libsvm"),
        *("application/x-parquet", "application/x-recordio-protobuf"),
    ]
)


class AlgorithmModeContainer:
    mode = "algorithm"

    def __init__(self, model_dir: Path, environment: dict[str, str]) -> None:
        import xgboost as xgb

        self.model_dir = Path(model_dir)
        self.default_accept = environment.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or "text/csv"
        paths = sorted(p for p in self.model_dir.iterdir() if p.is_file() and not p.name.startswith("."))
        if not paths:
            raise RuntimeError(f"no model file in {self.model_dir}")
        if environment.get("SAGEMAKER_INFERENCE_ENSEMBLE", "true") != "true":
            paths = paths[:1]
        self.boosters: list[Any] = []
        for path in paths:
            booster = xgb.Booster()
            try:
                booster.load_model(bytearray(path.read_bytes()))  # by content: the name has no extension
            except xgb.core.XGBoostError as exc:
                raise RuntimeError(f"Model {path} cannot be loaded:\nXGB load model error={exc}") from exc
            booster.set_param("nthread", "1")
            self.boosters.append(booster)

    def ping(self) -> ContainerResponse:
        return ContainerResponse(200, b"", None)

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> ContainerResponse:
        import xgboost as xgb

        if len(body) == 0:
            return ContainerResponse(204, b"", "text/html; charset=utf-8")
        try:
            matrix = xgb.DMatrix(_parse(body, content_type))
        except Exception as exc:  # noqa: BLE001 - the container answers any parsing failure with 415
            log.info("algorithm mode refused a request: %s", exc)
            return text_response(415, str(exc))
        try:
            predictions = [b.predict(matrix, validate_features=False) for b in self.boosters]
            scores = predictions[0] if len(predictions) == 1 else np.mean(predictions, axis=0)
        except Exception as exc:  # noqa: BLE001 - the container answers any scoring failure with 400
            return text_response(400, f"Unable to evaluate payload provided: {exc}")
        media = (accept or "").split(";", 1)[0].strip()
        if not media or media == "*/*":
            media = self.default_accept
        elif media.lower() not in SUPPORTED_ACCEPTS:
            supported = f"Please use supported accept types: {SUPPORTED_ACCEPTS}."
            return text_response(406, f"Accept type {media} is not supported. {supported}")
        media = media.lower()
        values = [float(v) for v in np.asarray(scores).reshape(-1)]
        if media == "application/json":
            data = json.dumps({"predictions": [{"score": v} for v in values]}).encode()
        elif media == "application/jsonlines":
            data = "".join(json.dumps({"score": v}) + "\n" for v in values).encode()
        elif media == "text/csv":
            data = encode_array(values, media)
        else:
            return text_response(500, "the local endpoint host does not encode recordio-protobuf")
        return ContainerResponse(200, data, mimetype_header(media))


def _content_type(value: str | None) -> str:
    if value is None:
        return _LIBSVM
    media, _, params = value.lower().partition(";")
    kind = _CONTENT_TYPES.get(media.strip())
    if kind is None:
        raise ValueError(f"{value} is not an accepted ContentType: {_ACCEPTED_LIST}.")
    label_size = next((p.split("=", 1)[1].strip() for p in params.split(";") if "label_size=" in p), "1")
    if kind == _CSV and label_size != "1":
        raise ValueError(
            f"{value} is not an accepted csv ContentType. Optional parameter label_size must be equal to 1"
        )
    return kind


def _parse(body: bytes, content_type: str | None) -> np.ndarray:
    kind = _content_type(content_type)
    if kind == _CSV:
        try:
            return csv_to_array(body.strip().decode("utf-8"), float)
        except Exception as exc:
            raise ValueError(
                "Loading csv data failed with Exception, please ensure data is in csv format:\n"
                f" {type(exc)}\n {exc}"
            ) from exc
    if kind == _LIBSVM:
        try:
            return libsvm_to_array(body.strip().decode("utf-8"))
        except Exception as exc:
            raise ValueError(
                "Loading libsvm data failed with Exception, please ensure data is in libsvm format:\n"
                f" {type(exc)}\n {exc}"
            ) from exc
    if kind == _RECORDIO:
        raise ValueError(
            "Loading recordio-protobuf data failed with Exception, please ensure data is in "
            "recordio-protobuf format: the local endpoint host does not decode recordio-protobuf"
        )
    raise ValueError(f"Content-type {content_type} is not supported.")


def csv_to_array(text: str, dtype: Any = None) -> np.ndarray:
    """The container's CSV reading: a sniffed delimiter, ``""`` as NaN, one float conversion for all."""
    delimiter = csv.Sniffer().sniff(text.split("\n", maxsplit=1)[0][:512]).delimiter
    if delimiter.isalnum():
        delimiter = ","
    rows = [["nan" if field == "" else field for field in line.split(delimiter)] for line in text.split("\n")]
    return np.array(rows).astype(dtype)


def libsvm_to_array(text: str) -> np.ndarray:
    """Sparse ``index:value`` rows; 1-based indices (all at least 1) are shifted to 0-based."""
    entries: list[tuple[int, int, float]] = []
    for row, line in enumerate(text.split("\n")):
        for item in line.split(" "):
            if ":" in item:
                index, value = item.split(":", 1)
                entries.append((row, int(index), float(value)))
    rows = text.count("\n") + 1
    if not entries:
        return np.zeros((rows, 0))
    shift = 1 if min(e[1] for e in entries) >= 1 else 0
    matrix = np.full((rows, max(e[1] for e in entries) - shift + 1), math.nan)
    for row_no, column, number in entries:
        matrix[row_no, column - shift] = number
    return matrix


def decode(content: str | bytes, content_type: str) -> Any:
    """The XGBoost image's default ``input_fn``: CSV or libsvm to a DMatrix (other types raise)."""
    import xgboost as xgb

    text = content.decode("utf-8") if isinstance(content, bytes) else content
    media = content_type.split(";", 1)[0].strip()
    if media == "text/csv":
        return xgb.DMatrix(csv_to_array(text))
    if media in ("text/libsvm", "text/x-libsvm"):
        return xgb.DMatrix(libsvm_to_array(text.strip()))
    raise ValueError(f"Content type {media} is not supported by this framework.")


def encode_array(values: Any, content_type: str) -> bytes:
    """sagemaker-containers' encoders: CSV one row per line, JSON a list."""
    array = np.asarray(values)
    if content_type == "text/csv":
        if array.ndim == 1:
            array = array.reshape(-1, 1)
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(array.tolist())
        return buffer.getvalue().encode()
    if content_type == "application/json":
        return json.dumps(array.tolist()).encode()
    raise ValueError(f"Content type {content_type} is not supported by this framework.")
