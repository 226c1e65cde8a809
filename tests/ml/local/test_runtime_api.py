"""Data capture at the runtime API: a local endpoint records its invocations as SageMaker does."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from ml import serving_code
from ml.local.capture import CaptureSettings, capture_root
from ml.local.container import write_environment
from ml.local.endpoint_host import EndpointHost
from ml.local.registry import Registry
from tests.ml.conftest import Output
from tests.ml.local.test_capture import records
from tests.ml.local.test_endpoints import ROW, runtime_client

NAME = "capture-staging"


def script_mode_model(trained: Output, target: Path) -> Path:
    """The trained model with the serving code beside it, as registered versions are served."""
    shutil.copytree(trained[0], target)
    serving_code.write_directory(target / "code")
    write_environment(target, serving_code.environment("code"))
    return target


@pytest.fixture
def host(trained: Output, tmp_path: Path) -> Iterator[EndpointHost]:
    registry = Registry(tmp_path / "registry.db")
    endpoint_host = EndpointHost(registry, tmp_path / "home", capture=CaptureSettings(percent=100)).start()
    endpoint_host.set_model(NAME, 1, str(script_mode_model(trained, tmp_path / "model")))
    yield endpoint_host
    endpoint_host.stop()
    registry.close()


def test_each_invocation_is_captured_with_its_request_and_response(host: EndpointHost) -> None:
    client = runtime_client(host.url)
    answers = [
        client.invoke_endpoint(EndpointName=NAME, ContentType="text/csv", Body=ROW)["Body"].read()
        for _ in range(3)
    ]
    record_json = json.dumps({"instances": [ROW.decode().strip().split(", ")]})
    json_answer = client.invoke_endpoint(
        EndpointName=NAME, ContentType="application/json", Accept="application/json", Body=record_json
    )["Body"].read()
    assert host.capture is not None and host.capture.flush(10)

    root = capture_root(host.home)
    [folder] = {path.parent for path in root.rglob("*.jsonl")}
    assert folder.relative_to(root).parts[:2] == (NAME, "AllTraffic")
    found = records(root)
    assert len(found) == 4
    for captured, answer in zip(found[:3], answers, strict=True):
        assert captured["captureData"]["endpointInput"] == {
            "observedContentType": "text/csv",
            "mode": "INPUT",
            "data": ROW.decode(),
            "encoding": "CSV",
        }
        assert captured["captureData"]["endpointOutput"]["data"] == answer.decode()
        assert captured["captureData"]["endpointOutput"]["encoding"] == "CSV"
        assert captured["eventVersion"] == "0"
    json_side = found[3]["captureData"]
    assert json_side["endpointInput"]["encoding"] == "JSON"
    assert json.loads(json_side["endpointInput"]["data"]) == json.loads(record_json)
    assert json_side["endpointOutput"]["observedContentType"].startswith("application/json")
    assert json.loads(json_side["endpointOutput"]["data"]) == json.loads(json_answer)


def test_refused_and_unknown_invocations_are_not_captured(host: EndpointHost) -> None:
    """SageMaker captures inference requests with their predictions; a record has no status, so an error
    body would read as a prediction."""
    client = runtime_client(host.url)
    with pytest.raises(ClientError) as refused:
        client.invoke_endpoint(EndpointName=NAME, ContentType="text/csv", Body=b"not,a,row\n")
    assert refused.value.response["Error"]["Code"] == "ModelError"
    with pytest.raises(ClientError) as unknown:
        client.invoke_endpoint(EndpointName="no-such-endpoint", ContentType="text/csv", Body=ROW)
    assert unknown.value.response["Error"]["Code"] == "ValidationError"
    client.invoke_endpoint(EndpointName=NAME, ContentType="text/csv", Body=ROW)
    assert host.capture is not None and host.capture.flush(10)
    assert [r["captureData"]["endpointInput"]["data"] for r in records(capture_root(host.home))] == [
        ROW.decode()
    ]


def test_a_capture_folder_that_cannot_be_written_fails_no_invocation(host: EndpointHost) -> None:
    root = capture_root(host.home)
    assert not root.exists()  # nothing captured yet
    root.parent.mkdir(parents=True, exist_ok=True)
    root.write_text("in the way")
    client = runtime_client(host.url)
    for _ in range(3):
        assert client.invoke_endpoint(EndpointName=NAME, ContentType="text/csv", Body=ROW)["Body"].read()
    assert host.capture is not None and host.capture.flush(10)
    assert host.capture.write_errors >= 1


def test_capture_off_writes_nothing(trained: Output, tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry.db")
    off = EndpointHost(registry, tmp_path / "home", capture=CaptureSettings(percent=0)).start()
    try:
        assert off.capture is None
        off.set_model(NAME, 1, str(script_mode_model(trained, tmp_path / "model")))
        assert runtime_client(off.url).invoke_endpoint(EndpointName=NAME, ContentType="text/csv", Body=ROW)
    finally:
        off.stop()
        registry.close()
    assert not capture_root(off.home).exists()
