"""Fixtures for the SageMaker platform tests: moto (in process), a config, a platform and seeded AWS."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ml.clock import Clock
from ml.rollout_policy import RolloutPolicy
from ml.sagemaker import SageMakerConfig, SageMakerPlatform
from ml.sagemaker.clients import aws_session
from tests.ml.sagemaker import moto_sagemaker

REGION = "us-east-1"
ROLE_ARN = "arn:aws:iam::123456789012:role/SageMakerExecution"
PIPELINE = "churn-xgb"
GROUP = "churn-models"
ENDPOINTS = {"staging": "churn-staging", "production": "churn-production"}
ALARMS = ("churn-production-5xx", "churn-production-latency-p95")
CANARY = RolloutPolicy("canary", 20, 600)

moto_sagemaker.install()


class FakeClock:
    """Wall and monotonic time that move only when a test, or a waiter's sleep, moves them.

    Wall time starts at the real time: moto stamps resources and alarm changes with it, and the
    platform compares those stamps with its own.
    """

    def __init__(self) -> None:
        self.wall = time.time()
        self.elapsed = 0.0
        self.sleeps: list[float] = []

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.elapsed += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    @property
    def clock(self) -> Clock:
        return Clock(wall=lambda: self.wall, monotonic=lambda: self.elapsed, sleep=self.sleep)


def make_config(**overrides: Any) -> SageMakerConfig:
    values: dict[str, Any] = {
        "region": REGION,
        "pipeline_name": PIPELINE,
        "model_package_group": GROUP,
        "execution_role_arn": ROLE_ARN,
        "endpoint_names": dict(ENDPOINTS),
        "rollback_alarm_names": ALARMS,
        "data_capture_s3_uri": "s3://mlops-capture/churn",
        "rollouts": {"staging": CANARY, "production": CANARY},
        "waiter_delay_seconds": 0,
        "waiter_max_attempts": 3,
        "max_attempts": 2,
        "allowed_input_prefixes": ("s3://churn-data/",),
    }
    values.update(overrides)
    return SageMakerConfig(**values)


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials only, and nothing that could point boto3 at a real account."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def session(aws: None) -> boto3.Session:
    return aws_session(REGION)


@pytest.fixture
def sm(session: boto3.Session) -> Any:
    return session.client("sagemaker")


@pytest.fixture
def s3(session: boto3.Session) -> Any:
    return session.client("s3")


@pytest.fixture
def config() -> SageMakerConfig:
    return make_config()


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def platform(
    config: SageMakerConfig, session: boto3.Session, sm: Any, fake_clock: FakeClock
) -> Iterator[SageMakerPlatform]:
    moto_sagemaker.create_pipeline(sm, PIPELINE, ROLE_ARN)
    plat = SageMakerPlatform(config, session, clock=fake_clock.clock)
    yield plat
    plat.close()
