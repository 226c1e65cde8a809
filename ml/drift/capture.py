"""Read captured endpoint traffic in SageMaker's data-capture format into rows and scores.

One invocation per JSON line, as SageMaker writes it under its capture prefix
(``<prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl``) and the local platform under
``MLOPS_HOME/capture/<endpoint>/…`` with the same layout::

    {"captureData": {
        "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                          "data": "39, State-gov, ...", "encoding": "CSV"},
        "endpointOutput": {"observedContentType": "text/csv; charset=utf-8", "mode": "OUTPUT",
                           "data": "0.12", "encoding": "CSV"}},
     "eventMetadata": {"eventId": "8f45e35c-…", "inferenceTime": "2020-07-30T13:36:30Z"},
     "eventVersion": "0"}

Field names, the ``CSV``/``JSON``/``BASE64`` encodings and the ``inferenceTime`` form (UTC, ``Z``,
fractional seconds optional) as in the SageMaker Developer Guide, "Capture data" and the Model Monitor
walk-through (awsdocs/amazon-sagemaker-developer-guide, doc_source/model-monitor-data-capture.md and
the captured-record example it prints). Request bodies follow the serving contract: CSV raw rows (a
row with another field count, such as an encoded feature vector, is counted as skipped) or JSON
``{"instances": [[...], {...}]}``; responses are CSV scores or ``{"predictions": [{"score": ...}]}``.
A line that is not such a record is counted as malformed and never stops the read. With pyarrow
installed, whole files go through ``ml.drift.arrow`` first (same results, the rows' order aside).
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from ml.drift import arrow, stored

#: records decoded with one json.loads call: far fewer interpreter round trips than one per line
_CHUNK_LINES = 4096


@dataclass(frozen=True)
class Capture:
    rows: pd.DataFrame
    scores: np.ndarray
    #: invocations read inside the window
    records: int
    #: request rows that are not raw rows (encoded vectors, other field counts)
    skipped: int
    #: lines that are not capture records
    malformed: int
    #: first and last inferenceTime read, ISO UTC
    window: tuple[str, str] | None


class _Malformed(ValueError):
    pass


class CaptureReader:
    """Accumulates records fed as JSON Lines byte streams; ``result`` builds the rows once."""

    def __init__(
        self, columns: Sequence[str], since: timedelta | None, now: datetime, *, accelerate: bool = True
    ) -> None:
        self.columns = list(columns)
        #: pyarrow's reader for whole files when installed (``arrow``); same results either way
        self.accelerate = accelerate and arrow.available()
        self.cutoff = None if since is None else _utc(now) - since
        self._csv_lines: list[str] = []
        #: raw CSV rows the arrow path took, as arrow string arrays
        self._arrow_lines: list[Any] = []
        self._json_rows: list[list[str]] = []
        self._scores: list[float] = []
        self._score_arrays: list[np.ndarray] = []
        self.records = self.skipped = self.malformed = 0
        self._width = len(self.columns) - 1
        self._times: list[datetime] = []

    def feed(self, stream: IO[bytes] | bytes) -> None:
        if self.accelerate:
            data = bytes(stream) if isinstance(stream, bytes | bytearray) else stream.read()
            if arrow.feed(self, data):
                return
            stream = data
        handle: IO[bytes] = io.BytesIO(stream) if isinstance(stream, bytes | bytearray) else stream
        chunk: list[bytes] = []
        for line in handle:
            if line.strip():
                chunk.append(line.strip())
            if len(chunk) >= _CHUNK_LINES:
                self._chunk(chunk)
                chunk = []
        if chunk:
            self._chunk(chunk)

    def _chunk(self, lines: list[bytes]) -> None:
        try:
            records = json.loads(b"[" + b",".join(lines) + b"]")
            if len(records) != len(lines):  # a line holding two values joined by a comma
                raise ValueError
        except (ValueError, UnicodeDecodeError):
            records = [_loads(line) for line in lines]
        for record in records:
            self.take(record)

    def take(self, record: Any) -> None:
        """One decoded line: its rows and scores, or one more malformed line."""
        try:
            self._record(record)
        except (_Malformed, KeyError, TypeError, ValueError, AttributeError):
            self.malformed += 1

    def _record(self, record: Any) -> None:
        if record is None:
            raise _Malformed
        at = datetime.fromisoformat(record["eventMetadata"]["inferenceTime"])
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        if self.cutoff is not None and at < self.cutoff:
            return
        data = record["captureData"]
        request = data["endpointInput"]
        output = data.get("endpointOutput")
        body = request["data"]
        row = body.rstrip("\r\n") if isinstance(body, str) else ""  # clients often end the row
        if (
            request["encoding"] == "CSV"
            and isinstance(body, str)
            and str(request["observedContentType"]).startswith("text/csv")
            and "\n" not in row
            and "\r" not in row
            and '"' not in row
        ):
            # One raw CSV row, as most requests are: no decoding, no splitting.
            if output is None:
                scores = []
            elif (
                output["encoding"] == "CSV"
                and isinstance(output["data"], str)
                and "\n" not in output["data"].rstrip()
            ):
                scores = [float(output["data"])]
            else:
                scores = _scores(*_body(output))
            if row.count(",") == self._width:
                self._csv_lines.append(row)
            elif row.strip():
                self.skipped += 1
        else:
            body, content_type = _body(request)
            scores = _scores(*_body(output)) if output else []
            if "json" in content_type:
                rows, skipped = self._json_body(body)
                self._json_rows.extend(rows)
            elif "csv" in content_type:
                lines, skipped = self._csv_body(body)
                self._csv_lines.extend(lines)
            else:
                raise _Malformed
            self.skipped += skipped
        self._scores.extend(scores)
        self.records += 1
        self._times.append(at)

    def _csv_body(self, body: str) -> tuple[list[str], int]:
        width = self._width
        kept: list[str] = []
        skipped = 0
        for line in body.splitlines():
            if not line.strip():
                continue
            commas = len(next(csv.reader([line]))) - 1 if '"' in line else line.count(",")
            if commas == width:
                kept.append(line)
            else:
                skipped += 1
        return kept, skipped

    def _json_body(self, body: str) -> tuple[list[list[str]], int]:
        document = json.loads(body)
        instances = document.get("instances") if isinstance(document, dict) else None
        if not isinstance(instances, list):
            raise _Malformed
        rows: list[list[str]] = []
        skipped = 0
        for instance in instances:
            if isinstance(instance, dict):
                rows.append([_text(instance.get(c)) for c in self.columns])
            elif isinstance(instance, list) and len(instance) == len(self.columns):
                rows.append([_text(v) for v in instance])
            else:
                skipped += 1
        return rows, skipped

    def result(self) -> Capture:
        frames = []
        skipped = self.skipped
        fast = arrow.frame(self._arrow_lines, self.columns) if self._arrow_lines else None
        if fast is not None:
            frames.append(fast[0])
            skipped += fast[1]
        if self._csv_lines:  # quoted or multi-line bodies too: pandas reads them as the standard path does
            frames.append(
                pd.read_csv(
                    io.StringIO("\n".join(self._csv_lines)),
                    header=None,
                    names=self.columns,
                    dtype=str,
                    keep_default_na=False,
                    skipinitialspace=True,
                )
            )
        if self._json_rows:
            frames.append(pd.DataFrame(self._json_rows, columns=self.columns, dtype=str))
        if frames:
            rows = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        else:
            rows = pd.DataFrame({c: pd.Series(dtype=str) for c in self.columns})
        window = (_iso(min(self._times)), _iso(max(self._times))) if self._times else None
        return Capture(
            rows,
            np.concatenate([np.asarray(self._scores, dtype=np.float64), *self._score_arrays]),
            self.records,
            skipped,
            self.malformed,
            window,
        )


def read_streams(
    streams: Iterable[IO[bytes] | bytes],
    columns: Sequence[str],
    since: timedelta | None,
    now: datetime,
    *,
    accelerate: bool = True,
) -> Capture:
    """Read JSON Lines byte streams (e.g. S3 objects' bodies) of capture records."""
    reader = CaptureReader(columns, since, now, accelerate=accelerate)
    for stream in streams:
        reader.feed(stream)
    return reader.result()


def read_folder(
    folder: Path, columns: Sequence[str], since: timedelta | None, now: datetime, *, accelerate: bool = True
) -> Capture:
    """Read ``folder/<variant>/yyyy/mm/dd/hh/*.jsonl``, opening only hours that can hold the window."""
    reader = CaptureReader(columns, since, now, accelerate=accelerate)
    for path in stored.capture_files(Path(folder), reader.cutoff):
        with open(path, "rb") as handle:
            reader.feed(handle)
    return reader.result()


def _loads(line: bytes) -> Any:
    try:
        return json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None


def _body(part: Any) -> tuple[str, str]:
    """The decoded body of an endpointInput/endpointOutput and its content type (lower case)."""
    content_type = str(part["observedContentType"]).lower()
    encoding = str(part["encoding"]).upper()
    data = part["data"]
    if not isinstance(data, str):
        raise _Malformed
    if encoding == "BASE64":
        try:
            return base64.b64decode(data, validate=True).decode("utf-8"), content_type
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise _Malformed from exc
    if encoding in ("CSV", "JSON"):
        return data, content_type
    raise _Malformed


def _scores(body: str, content_type: str) -> list[float]:
    if "json" in content_type:
        document = json.loads(body)
        predictions = document.get("predictions") if isinstance(document, dict) else document
        if not isinstance(predictions, list):
            raise _Malformed
        return [float(p["score"]) if isinstance(p, dict) else float(p) for p in predictions]
    return [float(line) for line in body.splitlines() if line.strip()]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
