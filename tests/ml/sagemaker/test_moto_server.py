"""The SageMaker platform against a moto server on 127.0.0.1, reached only through ``AWS_ENDPOINT_URL``.

Nothing is patched on the client side: this is the path a staging stack pointed at a fake AWS takes.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from ml.platform import ApprovalStatus, ExecutionStatus, NotFound, StepStatus
from ml.sagemaker import SageMakerPlatform, Throttled
from ml.sagemaker.clients import aws_session
from tests.ml.sagemaker import moto_sagemaker
from tests.ml.sagemaker.conftest import GROUP, PIPELINE, REGION, ROLE_ARN, FakeClock, make_config
from tests.ml.sagemaker.moto_sagemaker import register_model_package, seed_execution, step


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def endpoint_url(server_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    request = urllib.request.Request(f"{server_url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:  # a clean account for every test
        assert response.status == 200
    monkeypatch.setenv("AWS_ENDPOINT_URL", server_url)
    return server_url


@pytest.fixture
def clients(endpoint_url: str) -> tuple[Any, Any]:
    session = aws_session(REGION)
    return session.client("sagemaker"), session.client("s3")


@pytest.fixture
def platform(clients: tuple[Any, Any], fake_clock: FakeClock) -> Iterator[SageMakerPlatform]:
    moto_sagemaker.create_pipeline(clients[0], PIPELINE, ROLE_ARN)
    # One attempt: an operation the server cannot answer fails at once instead of being retried.
    plat = SageMakerPlatform(make_config(max_attempts=1, read_timeout_seconds=10.0), clock=fake_clock.clock)
    yield plat
    plat.close()


def test_platform_reaches_the_server_through_aws_endpoint_url(
    platform: SageMakerPlatform, endpoint_url: str
) -> None:
    assert platform.sagemaker.meta.endpoint_url == endpoint_url
    assert platform._client("s3").meta.endpoint_url == endpoint_url
    assert platform.sagemaker.meta.config.retries == {"mode": "standard", "total_max_attempts": 1}


def test_pipeline_run_over_http(platform: SageMakerPlatform) -> None:
    execution = platform.start_pipeline({"max_depth": "7"}, "U0ALICE", "9e8d7c6")
    seed_execution(
        platform.pipelines.execution_arn(execution.execution_id),
        status="Executing",
        steps=[step("PreprocessData", "Succeeded"), step("TrainModel", "Executing")],
    )
    described = platform.describe_execution(execution.execution_id)
    assert described.status is ExecutionStatus.EXECUTING
    assert described.parameters["max_depth"] == "7"
    assert [s.status for s in described.steps[:3]] == [
        StepStatus.SUCCEEDED,
        StepStatus.EXECUTING,
        StepStatus.PENDING,
    ]
    assert platform.stop_execution(execution.execution_id).status is ExecutionStatus.STOPPING
    assert [e.execution_id for e in platform.list_executions()] == [execution.execution_id]


def test_release_over_http(
    platform: SageMakerPlatform, clients: tuple[Any, Any], fake_clock: FakeClock
) -> None:
    sm, s3 = clients
    register_model_package(sm, s3, GROUP, accuracy=0.86)
    register_model_package(sm, s3, GROUP, accuracy=0.89)
    packages = platform.list_model_packages()
    assert [(p.version, p.metrics["accuracy"]) for p in packages] == [(2, 0.89), (1, 0.86)]
    for version in (1, 2):
        platform.update_approval(version, ApprovalStatus.APPROVED, "release")

    assert platform.deploy("staging", 1, "U0ALICE").version == 1
    first_config = sm.describe_endpoint(EndpointName="churn-staging")["EndpointConfigName"]
    moto_sagemaker.inject_failure("UpdateEndpoint", "ThrottlingException", "Rate exceeded")
    with pytest.raises(Throttled, match=r"after 1 attempt; try again in a minute"):
        platform.deploy("staging", 2, "U0ALICE")
    assert sm.describe_endpoint(EndpointName="churn-staging")["EndpointConfigName"] == first_config
    assert len(sm.list_models()["Models"]) == 1

    fake_clock.advance(1)  # configs are stamped to the second
    assert platform.deploy("staging", 2, "U0ALICE").version == 2
    fake_clock.advance(1)  # history is ordered by when each change served
    assert platform.rollback("staging", 1, "U0BOB").version == 1
    assert sm.describe_endpoint(EndpointName="churn-staging")["EndpointConfigName"] == first_config
    assert [u["EndpointConfigName"] for u in moto_sagemaker.update_endpoint_requests()][-1] == first_config
    assert [(d.version, d.kind) for d in platform.endpoint_history("staging")] == [
        (1, "deploy"),
        (2, "deploy"),
        (1, "rollback"),
    ]
    with pytest.raises(NotFound, match=r"'churn-production' \(production\) does not exist yet"):
        platform.describe_endpoint("production")
