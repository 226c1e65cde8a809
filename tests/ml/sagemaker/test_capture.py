"""Every endpoint config the SageMaker platform creates carries the DataCaptureConfig of the drift check."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.validate import ParamValidator

from bot.sagemaker_config import sagemaker_config
from bot.settings import load_settings
from ml.sagemaker import SageMakerPlatform
from ml.sagemaker.capture import data_capture_config
from tests.ml.sagemaker import moto_sagemaker
from tests.ml.sagemaker.conftest import PIPELINE, ROLE_ARN, FakeClock, make_config
from tests.ml.sagemaker.test_platform import approved, endpoint_config_of

EXPECTED = {
    "EnableCapture": True,
    "InitialSamplingPercentage": 30,
    "DestinationS3Uri": "s3://mlops-artifacts/mlops/capture",
    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"], "JsonContentTypes": ["application/json"]},
}


def test_the_request_is_valid_for_botocores_service_model(sm: Any) -> None:
    capture = data_capture_config(
        make_config(
            data_capture_s3_uri="s3://mlops-artifacts/mlops/capture", data_capture_sampling_percent=30
        )
    )
    assert capture == EXPECTED
    shape = sm.meta.service_model.operation_model("CreateEndpointConfig").input_shape.members[
        "DataCaptureConfig"
    ]
    report = ParamValidator().validate(capture, shape)
    assert not report.has_errors(), report.generate_report()
    misspelt = {**EXPECTED, "CaptureContentTypeHeaders": EXPECTED["CaptureContentTypeHeader"]}
    assert ParamValidator().validate(misspelt, shape).has_errors()  # the check above could fail


@pytest.mark.parametrize("env", ["staging", "production"])
def test_staging_and_production_endpoint_configs_capture(
    env: str, sm: Any, s3: Any, session: boto3.Session, fake_clock: FakeClock
) -> None:
    moto_sagemaker.create_pipeline(sm, PIPELINE, ROLE_ARN)
    config = make_config(
        data_capture_s3_uri="s3://mlops-artifacts/mlops/capture",
        data_capture_sampling_percent=30,
        autoscaling_enabled=False,
    )
    platform = SageMakerPlatform(config, session, clock=fake_clock.clock)
    try:
        (version,) = approved(sm, s3)
        platform.deploy(env, version, "U0ALICE")
        described = sm.describe_endpoint_config(EndpointConfigName=endpoint_config_of(sm, env))
    finally:
        platform.close()
    assert described["DataCaptureConfig"] == EXPECTED


@pytest.mark.parametrize(
    "overrides", [{"data_capture_s3_uri": None}, {"data_capture_sampling_percent": 0}], ids=["no-uri", "0%"]
)
def test_capture_off_leaves_the_config_out(overrides: dict[str, Any]) -> None:
    assert data_capture_config(make_config(**overrides)) is None


def test_the_percent_comes_from_the_same_setting_as_locally() -> None:
    settings = load_settings(
        mlops_backend="sagemaker",
        sagemaker_role_arn=ROLE_ARN,
        mlops_data_capture_s3_uri="s3://mlops-artifacts/mlops/capture",
        mlops_capture_percent=30,
    )
    assert data_capture_config(sagemaker_config(settings)) == EXPECTED


def test_an_out_of_range_percent_is_refused() -> None:
    with pytest.raises(ValueError, match="data_capture_sampling_percent must be within 0-100, not 101"):
        make_config(data_capture_sampling_percent=101)
