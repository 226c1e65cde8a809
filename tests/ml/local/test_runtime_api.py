"""The runtime API's HTTP server: data capture as SageMaker records invocations, the sockets it
accepts, and SageMaker's time limit on the model."""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from botocore.exceptions import ClientError

from ml import serving_code
from ml.local.capture import CaptureSettings, capture_root
from ml.local.container import Container, ContainerResponse, write_environment
from ml.local.endpoint_host import EndpointHost
from ml.local.registry import Registry
from ml.local.runtime_answers import TIMED_OUT, VARIANT, Answer
from ml.local.runtime_api import RuntimeServer
from tests.ml.clocks import ManualClock
from tests.ml.conftest import Output
from tests.ml.local.runtime_fakes import Served
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


# -- the HTTP server: sockets and the invocation time limit ---------------------------------------------
class _SlowContainer:
    """A model that answers only when the test lets it."""

    mode = "script"

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.answered = threading.Event()

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> ContainerResponse:
        self.entered.set()
        assert self.release.wait(30)
        self.answered.set()
        return ContainerResponse(200, b"0.25\n", "text/csv; charset=utf-8")

    def ping(self) -> ContainerResponse:
        return ContainerResponse(200, b"", None)


class _Router:
    """Every endpoint served by one container; keeps what each invocation answered (as metrics count it)."""

    region, account = "us-east-1", "123456789012"

    def __init__(self, container: Container) -> None:
        self.container = container
        self.answers: list[Answer] = []
        self.done = threading.Event()

    def serving(self, name: str) -> Served:
        return Served(1, self.container)

    def served_names(self) -> list[str]:
        return ["slow"]

    def status(self) -> dict[str, Any]:
        return {"endpoints": {}}

    def invoke(self, name: str, call: Callable[[Container, str], Answer]) -> tuple[Answer, int]:
        answer = call(self.container, VARIANT)
        self.answers.append(answer)
        self.done.set()
        return answer, 1

    def sync(self) -> None:
        """Nothing to follow."""


@pytest.fixture
def slow_server() -> Iterator[tuple[RuntimeServer, _Router, ManualClock]]:
    clock = ManualClock()
    router = _Router(_SlowContainer())
    server = RuntimeServer(("127.0.0.1", 0), router, router=router, monotonic=clock.now)
    accepted: list[socket.socket] = []
    accept = server.get_request

    def record() -> tuple[socket.socket, Any]:
        connection, address = accept()
        accepted.append(connection)
        return connection, address

    server.get_request = record  # type: ignore[method-assign]
    server.accepted = accepted  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, router, clock
    cast(_SlowContainer, router.container).release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


def _invocation() -> bytes:
    body = b"1,2,3"
    head = "POST /endpoints/slow/invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
    return f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body


def test_accepted_connections_send_without_nagle_delay(
    slow_server: tuple[RuntimeServer, _Router, ManualClock],
) -> None:
    server = slow_server[0]
    port = int(server.server_address[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(b"GET /endpoints HTTP/1.1\r\nHost: x\r\n\r\n")
        assert client.recv(65536).startswith(b"HTTP/1.1 200")
        (connection,) = server.accepted  # type: ignore[attr-defined]
        # a large answer's body goes out in a second write, which Nagle's algorithm would hold
        assert connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_a_model_past_the_time_limit_is_answered_once_with_the_timeout_and_its_late_answer_dropped(
    slow_server: tuple[RuntimeServer, _Router, ManualClock],
) -> None:
    server, router, clock = slow_server
    model = cast(_SlowContainer, router.container)
    port = int(server.server_address[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(_invocation())
        assert model.entered.wait(10)
        clock.advance(server.invocation_timeout)
        server.watchdog.poke()
        answer = client.makefile("rb")
        status = answer.readline()
        headers = {}
        while (line := answer.readline()) != b"\r\n":
            key, _, value = line.decode().partition(":")
            headers[key.lower()] = value.strip()
        error = json.loads(answer.read(int(headers["content-length"])))
        assert status.startswith(b"HTTP/1.1 424")
        assert headers["x-amzn-errortype"] == "ModelError" and headers["connection"] == "close"
        assert error["OriginalStatusCode"] == 0 and error["OriginalMessage"] == TIMED_OUT
        assert router.answers == []  # the model is still working
        model.release.set()
        assert router.done.wait(10)
        assert answer.read() == b""  # the late answer never reaches the client; the connection ends
    (counted,) = router.answers
    assert counted.status == 424 and json.loads(counted.body)["OriginalStatusCode"] == 0
    assert server.watchdog.watching == 0


def test_a_model_answering_in_time_keeps_its_answer_and_its_connection(
    slow_server: tuple[RuntimeServer, _Router, ManualClock],
) -> None:
    server, router, clock = slow_server
    model = cast(_SlowContainer, router.container)
    model.release.set()
    port = int(server.server_address[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for _ in range(2):  # the same kept-alive connection, past the first one's deadline
            connection.request("POST", "/endpoints/slow/invocations", b"1,2,3", {"Content-Type": "text/csv"})
            response = connection.getresponse()
            assert (response.status, response.read()) == (200, b"0.25\n")
            clock.advance(server.invocation_timeout)
            server.watchdog.poke()
    finally:
        connection.close()
    assert [a.status for a in router.answers] == [200, 200]
    assert server.watchdog.watching == 0
