"""The model's inference script: SageMaker's XGBoost container runs it in script mode.

Registered models set ``SAGEMAKER_PROGRAM=inference.py`` and ``SAGEMAKER_SUBMIT_DIRECTORY`` to an
archive holding this file and ``ml/serving.py`` (``ml.serving_code``). The container imports the module
once, calls ``model_fn(model_dir)``, then for each request
``output_fn(predict_fn(input_fn(body, content_type), model), accept)``. The local endpoint host calls
them the same way (``ml.local.script_mode``).

The container turns any exception these functions raise into HTTP 500, so a request they refuse is
*returned*, not raised: a ``Refusal`` is a WSGI application, which the container's Flask app sends as is
(400 bad rows, 415 unsupported content type, 406 unsupported ``Accept``), with the reason as plain text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from http import HTTPStatus
from pathlib import Path
from typing import Any

from ml import serving

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class Refusal:
    """A refused request, as a WSGI application answering ``status`` with ``message``."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        self.status = status
        self.message = message

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        body = (self.message + "\n").encode("utf-8")
        start_response(
            f"{self.status.value} {self.status.phrase}",
            [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [body]

    def __repr__(self) -> str:
        return f"Refusal({self.status.value}, {self.message!r})"


def model_fn(model_dir: str) -> serving.Scorer:
    """The booster and its ``features.json``, from the extracted model archive."""
    return serving.Scorer.load(Path(model_dir))


def input_fn(request_body: str | bytes, request_content_type: str) -> list[serving.Row] | Refusal:
    """Rows from a CSV or JSON body (raw business rows or encoded rows, as ``ml.serving`` reads them)."""
    if serving.base_type(request_content_type) not in serving.SUPPORTED_CONTENT_TYPES:
        return Refusal(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            f"unsupported content type {request_content_type!r}; "
            f"use one of: {', '.join(serving.SUPPORTED_CONTENT_TYPES)}",
        )
    try:
        return serving.parse_request(request_body, request_content_type)
    except serving.BadInput as exc:
        return Refusal(HTTPStatus.BAD_REQUEST, str(exc))


def predict_fn(input_data: Sequence[serving.Row] | Refusal, model: serving.Scorer) -> list[float] | Refusal:
    """Probability of the positive class for each row, in row order."""
    if isinstance(input_data, Refusal):
        return input_data
    try:
        return model.predict_rows(input_data)
    except serving.BadInput as exc:
        return Refusal(HTTPStatus.BAD_REQUEST, str(exc))


def output_fn(prediction: list[float] | Refusal, accept: str) -> tuple[bytes, str] | Refusal:
    """``(body, content type)``: CSV, one score per line, or ``{"predictions": [{"score": p}, ...]}``."""
    if isinstance(prediction, Refusal):
        return prediction
    try:
        response_type = serving.response_type_for(accept)
    except serving.BadInput as exc:
        return Refusal(HTTPStatus.NOT_ACCEPTABLE, str(exc))
    return serving.encode_scores(prediction, response_type), response_type
