"""Where the drift check's PSI goes: EMF lines (Lambda), PutMetricData (sagemaker), nowhere (local)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest
from moto import mock_aws

from bot.notify import Notifier
from bot.services import Services
from ml.drift.check import DriftReport, FeatureDrift
from ml.drift.environment import EnvironmentDrift
from ml.platform import MLPlatform
from ml.sagemaker import AccessDenied, SageMakerConfig, SageMakerPlatform
from ml.sagemaker.clients import aws_session
from runtimes.drift_publish import (
    cloudwatch_publisher,
    drift_publisher,
    emf_publisher,
    start_scheduled_check,
)

AT = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)
REGION = "us-east-1"


def found() -> EnvironmentDrift:
    age = FeatureDrift("age", "numeric", 0.61, "drift", 0.0, 0.0, 0.0, (), 10)
    score = FeatureDrift("score", "score", 0.3, "drift", 0.0, 0.0, 0.0, (), 10)
    report = DriftReport([age], score, rows=10, skipped=0, window=None, status="drift")
    return EnvironmentDrift("production", 2, report)


@pytest.fixture
def platform(monkeypatch: pytest.MonkeyPatch) -> Iterator[SageMakerPlatform]:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        config = SageMakerConfig(
            region=REGION,
            pipeline_name="churn-xgb",
            model_package_group="churn-models",
            execution_role_arn="arn:aws:iam::123456789012:role/SageMakerExecution",
            endpoint_names={"staging": "churn-staging", "production": "churn-production"},
        )
        plat = SageMakerPlatform(config, aws_session(REGION))
        yield plat
        plat.close()


def test_emf_lines_are_one_json_document_each() -> None:
    out = io.StringIO()
    emf_publisher(out, now=lambda: AT)(found())
    lines = out.getvalue().splitlines()
    documents = [json.loads(line) for line in lines]
    assert [(d["Feature"], d["DriftPSI"]) for d in documents] == [("age", 0.61), ("score", 0.3)]
    assert all(d["_aws"]["Timestamp"] == int(AT.timestamp() * 1000) for d in documents)


def test_the_local_platform_publishes_nothing() -> None:
    assert drift_publisher(cast(MLPlatform, object())) is None


def test_the_sagemaker_backend_puts_metric_data(platform: SageMakerPlatform) -> None:
    publish = drift_publisher(platform, now=lambda: datetime.now(UTC))
    assert publish is not None
    publish(found())
    metrics = platform.aws.client("cloudwatch").list_metrics(Namespace="mlops")["Metrics"]
    features = {d["Value"] for m in metrics for d in m["Dimensions"] if d["Name"] == "Feature"}
    assert features == {"age", "score"}


def test_a_refused_put_is_logged_and_the_check_goes_on(
    platform: SageMakerPlatform, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(*_: Any) -> None:
        raise AccessDenied("cloudwatch:PutMetricData is not allowed")

    monkeypatch.setattr(platform, "publish_drift", refuse)
    with caplog.at_level(logging.WARNING, logger="runtimes.drift_publish"):
        cloudwatch_publisher(platform)(found())  # does not raise
    assert "drift metrics of production not published: cloudwatch:PutMetricData" in caplog.text


def test_the_containers_timer_follows_the_schedule_and_the_platform(platform: SageMakerPlatform) -> None:
    def services(interval: timedelta | None, plat: object) -> Services:
        settings = SimpleNamespace(drift_interval=interval)
        return cast(Services, SimpleNamespace(settings=settings, platform=plat, store=None))

    notifier = cast(Notifier, SimpleNamespace(client=object()))  # a client that uploads no files
    assert start_scheduled_check(services(None, platform), notifier) is None  # MLOPS_DRIFT_SCHEDULE=off
    assert start_scheduled_check(services(timedelta(hours=1), platform), None) is None  # no channel
    local = start_scheduled_check(services(timedelta(hours=1), object()), notifier)
    aws = start_scheduled_check(services(timedelta(hours=1), platform), notifier)
    assert local is not None and aws is not None
    try:
        assert local.publish is None and aws.publish is not None
        assert local.interval == timedelta(hours=1)
    finally:
        local.close(timeout=5)
        aws.close(timeout=5)
