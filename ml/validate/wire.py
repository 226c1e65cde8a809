"""What validation sends and reads back: CSV request bodies, score responses and failed calls."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

Invoke = Callable[[bytes, str], tuple[bytes, str]]

CONTENT_TYPE_CSV = "text/csv"
CONTENT_TYPE_JSON = "application/json"


class InvokeError(Exception):
    """An endpoint call failed; ``status`` is the HTTP status the model container answered, if known."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def to_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue().encode()


def parse_scores(body: bytes, content_type: str) -> list[float]:
    """Scores from a CSV (newline- or comma-separated) or JSON (``predictions``) response."""
    text = body.decode("utf-8").strip()
    if content_type.split(";", 1)[0].strip().lower() == CONTENT_TYPE_JSON or text.startswith(("{", "[")):
        document = json.loads(text)
        items = document.get("predictions") if isinstance(document, dict) else document
        if not isinstance(items, list):
            raise ValueError('JSON response has no "predictions" list')
        scores = []
        for item in items:
            value = item.get("score") if isinstance(item, dict) else item
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"prediction {item!r} is not a number")
            scores.append(float(value))
        return scores
    if not text:
        return []
    return [float(token) for token in text.replace(",", "\n").split()]


def status_of(exc: BaseException) -> int | None:
    """The HTTP status behind a failed call, whatever raised it."""
    if isinstance(exc, InvokeError):
        return exc.status
    if isinstance(exc, ValueError):  # an in-process scorer refusing input (serving.BadInput)
        return 400
    for attribute in ("status_code", "status"):
        value = getattr(exc, attribute, None)
        if isinstance(value, int):
            return value
    response = getattr(exc, "response", None)
    value = getattr(response, "status_code", None)
    return value if isinstance(value, int) else None


def describe(exc: BaseException) -> str:
    """A failure in one line of at most 300 characters, for a check's detail."""
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
