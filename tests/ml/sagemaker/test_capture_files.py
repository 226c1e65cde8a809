"""``captured_traffic`` on SageMaker: data-capture files read from S3 (moto), hour by hour."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from ml.platform import InvalidRequest
from ml.sagemaker import SageMakerPlatform
from tests.ml.sagemaker.conftest import FakeClock, make_config

NOW = datetime(2026, 12, 7, 17, 45, tzinfo=UTC)
DESTINATION = "s3://mlops-capture/datacapture"


@pytest.fixture
def capturing(session: boto3.Session, s3: Any, fake_clock: FakeClock) -> Iterator[SageMakerPlatform]:
    s3.create_bucket(Bucket="mlops-capture")
    platform = SageMakerPlatform(
        make_config(data_capture_s3_uri=DESTINATION), session, clock=fake_clock.clock
    )
    yield platform
    platform.close()


def test_files_of_the_window_only_oldest_first(capturing: SageMakerPlatform, s3: Any) -> None:
    endpoint = capturing.endpoint_name("production")
    for hours_ago in (30, 2, 0):
        at = NOW - timedelta(hours=hours_ago)
        key = f"datacapture/{endpoint}/AllTraffic/{at:%Y/%m/%d/%H}/{at:%M-%S}-{hours_ago}.jsonl"
        s3.put_object(Bucket="mlops-capture", Key=key, Body=f"file {hours_ago}\n".encode())
    s3.put_object(Bucket="mlops-capture", Key=f"datacapture/{endpoint}/AllTraffic/notes.txt", Body=b"x")
    s3.put_object(
        Bucket="mlops-capture", Key="datacapture/other-endpoint/AllTraffic/2026/12/07/17/a.jsonl", Body=b"y"
    )
    assert list(capturing.captured_traffic("production", NOW - timedelta(hours=24))) == [
        b"file 2\n",
        b"file 0\n",
    ]
    assert list(capturing.captured_traffic("production", NOW - timedelta(minutes=30))) == [b"file 0\n"]
    assert len(list(capturing.captured_traffic("production", None))) == 3
    assert list(capturing.captured_traffic("staging", None)) == []  # nothing captured there


def test_without_a_capture_destination_it_says_so(session: boto3.Session, fake_clock: FakeClock) -> None:
    platform = SageMakerPlatform(make_config(data_capture_s3_uri=None), session, clock=fake_clock.clock)
    try:
        with pytest.raises(InvalidRequest, match="data capture is off"):
            platform.captured_traffic("production", None)
    finally:
        platform.close()
