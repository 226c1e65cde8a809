"""One captured invocation as SageMaker's data capture writes it: a JSON Lines record.

Checked against SageMaker's documentation and the examples it publishes (aws/sagemaker-python-sdk
``doc/amazon_sagemaker_model_monitor.rst``, aws/amazon-sagemaker-examples model monitor notebooks):

* a record is ``{"captureData": {"endpointInput": {...}, "endpointOutput": {...}}, "eventMetadata":
  {"eventId": "<uuid>", "inferenceTime": "2020-07-30T13:36:30Z"}, "eventVersion": "0"}``; each side holds
  ``observedContentType`` (the Content-Type as sent, e.g. ``text/csv; charset=utf-8`` for the XGBoost
  container's answer), ``mode`` (``INPUT``/``OUTPUT``), ``data`` and ``encoding``;
* ``encoding`` follows ``CaptureContentTypeHeader``: ``CSV`` for its ``CsvContentTypes``, ``JSON`` for its
  ``JsonContentTypes`` (``data`` is then the body as text), anything else ``BASE64`` ("If no headers are
  specified SageMaker will by default base64 encode", API reference of ``DataCaptureConfig``);
* files live at ``<DestinationS3Uri>/<endpoint-name>/<variant-name>/yyyy/mm/dd/hh/<file>.jsonl``, one
  folder per UTC hour of the invocation.

One addition: a body cut at the size limit carries ``"truncated": true`` on its side (absent otherwise).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

CSV_CONTENT_TYPES = ("text/csv",)
JSON_CONTENT_TYPES = ("application/json",)
#: Largest body kept whole in a record; a larger one is cut here and flagged.
MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Invocation:
    """What the runtime API saw of one successful invocation; turned into a record off the request path."""

    endpoint: str
    variant: str
    request: bytes
    request_type: str | None
    response: bytes
    response_type: str | None
    at: datetime
    event_id: str


def media_type(content_type: str | None) -> str:
    """``text/csv`` of ``text/csv; charset=utf-8``, lower-cased."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def encoding_of(
    content_type: str | None,
    csv_types: Sequence[str] = CSV_CONTENT_TYPES,
    json_types: Sequence[str] = JSON_CONTENT_TYPES,
) -> str:
    kind = media_type(content_type)
    if kind in csv_types:
        return "CSV"
    if kind in json_types:
        return "JSON"
    return "BASE64"


def _side(mode: str, body: bytes, content_type: str | None, max_body: int) -> dict[str, Any]:
    encoding = encoding_of(content_type)
    truncated = len(body) > max_body
    if truncated:
        body = body[:max_body]
        if encoding == "CSV" and b"\n" in body:
            body = body[: body.rindex(b"\n") + 1]  # whole rows only: a cut row would read as a bad one
    data = base64.b64encode(body).decode("ascii") if encoding == "BASE64" else body.decode("utf-8", "replace")
    side: dict[str, Any] = {
        # SageMaker records what the caller sent; a missing header is SageMaker's default type
        "observedContentType": content_type or "application/octet-stream",
        "mode": mode,
        "data": data,
        "encoding": encoding,
    }
    if truncated:
        side["truncated"] = True
    return side


def inference_time(at: datetime) -> str:
    """``2026-12-07T17:45:00Z``: UTC, whole seconds, as in SageMaker's records."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def record(
    invocation: Invocation, max_body: int = MAX_BODY_BYTES, *, inferred_at: str | None = None
) -> dict[str, Any]:
    """``inferred_at``: ``inference_time(invocation.at)`` when the caller already has it."""
    at = inference_time(invocation.at) if inferred_at is None else inferred_at
    return {
        "captureData": {
            "endpointInput": _side("INPUT", invocation.request, invocation.request_type, max_body),
            "endpointOutput": _side("OUTPUT", invocation.response, invocation.response_type, max_body),
        },
        "eventMetadata": {"eventId": invocation.event_id, "inferenceTime": at},
        "eventVersion": "0",
    }


def line(invocation: Invocation, max_body: int = MAX_BODY_BYTES, *, inferred_at: str | None = None) -> bytes:
    """The record as one JSON Lines line (compact, newline-terminated)."""
    text = json.dumps(
        record(invocation, max_body, inferred_at=inferred_at), separators=(",", ":"), ensure_ascii=False
    )
    return text.encode("utf-8") + b"\n"


def hour_folder(invocation: Invocation) -> tuple[str, ...]:
    """``(endpoint, variant, yyyy, mm, dd, hh)``: where the invocation's file goes below the capture root."""
    at = invocation.at.astimezone(UTC)
    return (invocation.endpoint, invocation.variant, f"{at:%Y}", f"{at:%m}", f"{at:%d}", f"{at:%H}")


class Stamps:
    """``hour_folder`` and ``inference_time`` for a stream of invocations, each worked out once per UTC
    hour (folders) or second (times) instead of once per record."""

    def __init__(self) -> None:
        self._hour: tuple[int, int, int, int] | None = None
        self._hour_parts: tuple[str, ...] = ()
        self._second: tuple[int, int, int, int, int, int] | None = None
        self._second_text = ""

    def folder(self, invocation: Invocation) -> tuple[str, ...]:
        at = _utc(invocation.at)
        hour = (at.year, at.month, at.day, at.hour)
        if hour != self._hour:
            self._hour, self._hour_parts = hour, hour_folder(invocation)[2:]
        return (invocation.endpoint, invocation.variant, *self._hour_parts)

    def inference_time(self, invocation: Invocation) -> str:
        at = _utc(invocation.at)
        second = (at.year, at.month, at.day, at.hour, at.minute, at.second)
        if second != self._second:
            self._second, self._second_text = second, inference_time(at)
        return self._second_text


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is UTC else at.astimezone(UTC)
