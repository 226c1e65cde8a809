"""Data captured by an endpoint (``DataCaptureConfig``): the JSON Lines files SageMaker writes to S3.

SageMaker writes under ``<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl``
(SageMaker Developer Guide, "Capture data"). Only the hours that can hold the window are listed:
each variant's keys are listed from its first such hour on (``StartAfter``), keys sorting by time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from ml.drift import stored
from ml.sagemaker.errors import aws_errors
from ml.sagemaker.storage import split_s3_uri


def capture_objects(s3: Any, destination: str, endpoint: str, since: datetime | None) -> Iterator[bytes]:
    """The bytes of each capture file of ``endpoint`` under ``destination``, oldest hour first."""
    bucket, prefix = split_s3_uri(destination.rstrip("/") + "/")
    base = f"{prefix}{endpoint}/"
    with aws_errors(f"data capture of {endpoint} at {destination}"):
        variants = [
            common["Prefix"]
            for page in s3.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=base, Delimiter="/"
            )
            for common in page.get("CommonPrefixes", [])
        ]
        for variant in sorted(variants):
            listing: dict[str, Any] = {"Bucket": bucket, "Prefix": variant}
            if since is not None:
                # Keys below the hour before ``since``'s sort before it: skip them unlisted.
                listing["StartAfter"] = variant + (since - timedelta(hours=1)).strftime("%Y/%m/%d/%H")
            for page in s3.get_paginator("list_objects_v2").paginate(**listing):
                for item in page.get("Contents", []):
                    parts = item["Key"][len(variant) :].split("/")
                    if (
                        len(parts) == 5
                        and parts[4].endswith(".jsonl")
                        and stored.hour_may_hold(parts[:4], since)
                    ):
                        yield bytes(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
