"""S3 objects the platform reads and writes: step code uploads and evaluation reports."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def split_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key) of ``s3://bucket/key``; ValueError for anything else."""
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ValueError(f"not an s3://bucket/key URI: {uri!r}")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key


def put_object(s3: Any, uri: str, body: bytes) -> None:
    bucket, key = split_s3_uri(uri)
    s3.put_object(Bucket=bucket, Key=key, Body=body)


def read_object(s3: Any, uri: str) -> bytes:
    bucket, key = split_s3_uri(uri)
    return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def classification_metrics(report: object, names: Iterable[str] | None = None) -> dict[str, float]:
    """``classification_metrics.<name>.value`` of an evaluation report, as floats.

    ``names`` picks the metrics (default: every numeric one). ValueError when the report has no
    ``classification_metrics`` object.
    """
    section = report.get("classification_metrics") if isinstance(report, Mapping) else None
    if not isinstance(section, Mapping):
        raise ValueError("no classification_metrics object")
    metrics: dict[str, float] = {}
    for name in section if names is None else names:
        entry = section.get(name)
        value = entry.get("value") if isinstance(entry, Mapping) else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            metrics[str(name)] = float(value)
    return metrics
