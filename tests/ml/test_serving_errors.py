"""One contract for serving errors, run against both platforms with the same test bodies.

``local``: the local platform's endpoint host, serving a version its pipeline trained and registered.
``sagemaker``: moto, with the endpoint created through the SageMaker API from the model package the
pipeline would register (model archive and serving code in S3); moto's InvokeEndpoint is completed by
``tests.ml.sagemaker.moto_runtime`` from moto's own state. Both are reached by one boto3
``sagemaker-runtime`` client, which must raise the same exception classes with the same fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from ml import serving_code
from ml.local import LocalPlatform
from ml.local.runtime_answers import MAX_PAYLOAD_BYTES
from ml.parameters import RunPolicy
from ml.sagemaker.clients import aws_session
from tests.ml.conftest import train_version
from tests.ml.sagemaker import moto_runtime

ROW = b"39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, 2174, 0, 40, United-States\n"  # noqa: E501
SHORT_ROW = ROW.rsplit(b",", 1)[0] + b"\n"
MOTO_ACCOUNT = "123456789012"
XGBOOST_IMAGE = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:3.2-0"


@dataclass(frozen=True)
class Runtime:
    platform: str
    client: Any
    endpoint: str
    account: str


def _client(**kwargs: Any) -> Any:
    return aws_session().client(
        "sagemaker-runtime",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
        **kwargs,
    )


@pytest.fixture(scope="module")
def local_runtime(tmp_path_factory: pytest.TempPathFactory, small_data: Path) -> Iterator[Runtime]:
    platform = LocalPlatform(
        tmp_path_factory.mktemp("home"),
        host_endpoints_in_process=True,
        data_dir=small_data.parent,
        policy=RunPolicy(min_accuracy_threshold=0.5),
    )
    version = train_version(platform, small_data)
    info = platform.deploy("staging", version, "U-dev")
    yield Runtime("local", _client(endpoint_url=platform.endpoint_url), info.name, "000000000000")
    platform.close()


@pytest.fixture
def sagemaker_runtime(trained: tuple[Path, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    moto_runtime.install()
    with mock_aws():
        s3 = aws_session().client("s3", region_name="us-east-1")
        sm = aws_session().client("sagemaker", region_name="us-east-1")
        s3.create_bucket(Bucket="mlops-artifacts")
        s3.put_object(
            Bucket="mlops-artifacts", Key="run/model.tar.gz", Body=moto_runtime.model_archive(trained[0])
        )
        code_uri = f"s3://mlops-artifacts/code/{serving_code.SOURCE_ARCHIVE}"
        s3.put_object(Bucket="mlops-artifacts", Key=code_uri.split("/", 3)[3], Body=serving_code.archive())
        sm.create_model_package_group(ModelPackageGroupName="income-models")
        package = sm.create_model_package(
            ModelPackageGroupName="income-models",
            ModelApprovalStatus="Approved",
            InferenceSpecification={
                "Containers": [
                    {
                        "Image": XGBOOST_IMAGE,
                        "ModelDataUrl": "s3://mlops-artifacts/run/model.tar.gz",
                        "Environment": serving_code.environment(code_uri),
                    }
                ],
                "SupportedContentTypes": ["text/csv", "application/json"],
                "SupportedResponseMIMETypes": ["text/csv", "application/json"],
            },
        )
        role = f"arn:aws:iam::{MOTO_ACCOUNT}:role/SageMakerExecution"
        sm.create_model(
            ModelName="income-v1",
            ExecutionRoleArn=role,
            Containers=[{"ModelPackageName": package["ModelPackageArn"]}],
        )
        variant = {
            "VariantName": "AllTraffic",
            "ModelName": "income-v1",
            "InitialInstanceCount": 1,
            "InstanceType": "ml.m5.large",
        }
        sm.create_endpoint_config(EndpointConfigName="income-staging-v1", ProductionVariants=[variant])
        sm.create_endpoint(EndpointName="income-staging", EndpointConfigName="income-staging-v1")
        yield Runtime("sagemaker", _client(), "income-staging", MOTO_ACCOUNT)
    moto_runtime.reset()


@pytest.fixture(params=["local", "sagemaker"])
def runtime(request: pytest.FixtureRequest) -> Runtime:
    fixture: Runtime = request.getfixturevalue(f"{request.param}_runtime")
    return fixture


def test_a_valid_request_is_scored(runtime: Runtime) -> None:
    response = runtime.client.invoke_endpoint(
        EndpointName=runtime.endpoint, ContentType="text/csv", Accept="text/csv", Body=ROW
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert response["ContentType"] == "text/csv; charset=utf-8"
    assert response["InvokedProductionVariant"] == "AllTraffic"
    assert 0.0 <= float(response["Body"].read()) <= 1.0


def test_an_unknown_endpoint_is_a_validation_error(runtime: Runtime) -> None:
    with pytest.raises(ClientError) as raised:
        runtime.client.invoke_endpoint(EndpointName="no-such-endpoint", ContentType="text/csv", Body=ROW)
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"] == {
        "Code": "ValidationError",
        "Message": f"Endpoint no-such-endpoint of account {runtime.account} not found.",
    }
    assert not isinstance(raised.value, runtime.client.exceptions.ModelError)


def test_a_container_refusal_is_a_model_error_carrying_the_containers_answer(runtime: Runtime) -> None:
    with pytest.raises(runtime.client.exceptions.ModelError) as raised:
        runtime.client.invoke_endpoint(EndpointName=runtime.endpoint, ContentType="text/csv", Body=SHORT_ROW)
    error: dict[str, Any] = dict(raised.value.response)
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error["Error"]["Code"] == "ModelError"
    assert error["OriginalStatusCode"] == 400
    assert error["OriginalMessage"].startswith("row 1 has 13 values; expected")
    assert error["Error"]["Message"] == (
        f'Received client error (400) from primary with message "{error["OriginalMessage"]}". '
        f"See https://{_region(runtime)}.console.aws.amazon.com/cloudwatch/home?region={_region(runtime)}"
        f"#logEventViewer:group=/aws/sagemaker/Endpoints/{runtime.endpoint} in account {runtime.account} "
        "for more information."
    )
    assert error["LogStreamArn"].startswith(
        f"arn:aws:logs:{_region(runtime)}:{runtime.account}:log-group:/aws/sagemaker/Endpoints/{runtime.endpoint}"
    )


def test_an_unsupported_content_type_is_the_containers_415(runtime: Runtime) -> None:
    with pytest.raises(runtime.client.exceptions.ModelError) as raised:
        runtime.client.invoke_endpoint(EndpointName=runtime.endpoint, ContentType="text/plain", Body=ROW)
    assert raised.value.response["OriginalStatusCode"] == 415


def test_a_payload_over_6_mb_is_refused(runtime: Runtime) -> None:
    with pytest.raises(ClientError) as raised:
        runtime.client.invoke_endpoint(
            EndpointName=runtime.endpoint, ContentType="text/csv", Body=b"1" * (MAX_PAYLOAD_BYTES + 1)
        )
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert error["Error"] == {"Code": "413", "Message": "HTTP content length exceeded 6291456 bytes."}


def _region(runtime: Runtime) -> str:
    return "local" if runtime.platform == "local" else "us-east-1"
