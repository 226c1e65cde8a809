"""Local endpoints: deploy, invoke through the SageMaker runtime API, atomic switches, the host process."""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from ml import serving
from ml.local import LocalPlatform
from ml.local.endpoints import live_host, read_host_record, stop_host_process
from ml.parameters import RunPolicy
from ml.platform import (
    DT_ENDPOINT,
    ApprovalStatus,
    EndpointStatus,
    InvalidRequest,
    PlatformError,
)
from ml.sagemaker.clients import aws_session
from tests.ml.clocks import ticking_clock
from tests.ml.conftest import train_version

ROW = b"39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, 2174, 0, 40, United-States\n"  # noqa: E501
STAGING = "mlops-xgboost-staging"
LOW_GATE = RunPolicy(min_accuracy_threshold=0.5)


def runtime_client(url: str) -> Any:
    return aws_session().client(
        "sagemaker-runtime",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1}),
    )


class Hosted:
    def __init__(self, platform: LocalPlatform, versions: tuple[int, int]) -> None:
        self.platform = platform
        self.v1, self.v2 = versions
        self.events: list[dict[str, Any]] = []
        platform.subscribe(self.events.append)


@pytest.fixture(scope="module")
def hosted(tmp_path_factory: pytest.TempPathFactory, small_data: Path) -> Iterator[Hosted]:
    """Two Approved versions that score differently, served in process."""
    platform = LocalPlatform(
        tmp_path_factory.mktemp("home"),
        host_endpoints_in_process=True,
        data_dir=small_data.parent,
        policy=LOW_GATE,
        clock=ticking_clock(),  # validation's timed calls each "take" 1 ms, however busy the machine
    )
    v1 = train_version(platform, small_data, num_round="40")
    v2 = train_version(platform, small_data, num_round="3", max_depth="2")
    yield Hosted(platform, (v1, v2))
    platform.close()


def post(url: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def get(url: str, path: str, headers: dict[str, str]) -> int:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_deploy_then_invoke_through_the_runtime_api(hosted: Hosted) -> None:
    platform = hosted.platform
    info = platform.deploy("staging", hosted.v1, "U-dev")
    assert (info.status, info.version, info.name) == (EndpointStatus.IN_SERVICE, hosted.v1, STAGING)
    assert platform.describe_endpoint("staging") == info
    history = platform.endpoint_history("staging")
    assert [(d.version, d.kind, d.deployed_by) for d in history[-1:]] == [(hosted.v1, "deploy", "U-dev")]
    assert history[-1].config_name.startswith(f"{STAGING}-v{hosted.v1}-")

    client = runtime_client(platform.endpoint_url)
    response = client.invoke_endpoint(EndpointName=STAGING, ContentType="text/csv", Body=ROW + ROW)
    scores = [float(line) for line in response["Body"].read().decode().split()]
    assert len(scores) == 2 and scores[0] == scores[1] and 0.0 <= scores[0] <= 1.0
    assert response["ContentType"] == "text/csv; charset=utf-8"  # as Werkzeug sends it in the container
    assert response["InvokedProductionVariant"] == "AllTraffic"
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-model-version"] == str(hosted.v1)

    record = dict(zip(serving_columns(platform), ROW.decode().strip().split(", "), strict=True))
    response = client.invoke_endpoint(
        EndpointName=STAGING,
        ContentType="application/json",
        Accept="application/json",
        Body=json.dumps({"instances": [record]}),
    )
    predictions = json.loads(response["Body"].read())["predictions"]
    assert predictions[0]["score"] == pytest.approx(scores[0])


def serving_columns(platform: LocalPlatform) -> tuple[str, ...]:
    model_dir = platform.home / "artifacts" / "models" / "v1"
    return serving.Scorer.load(model_dir).raw_columns


def test_bad_requests_get_runtime_errors_and_the_server_keeps_serving(hosted: Hosted) -> None:
    platform = hosted.platform
    platform.deploy("staging", hosted.v1, "U-dev")
    url = platform.endpoint_url
    client = runtime_client(url)

    with pytest.raises(ClientError) as model_error:
        client.invoke_endpoint(EndpointName=STAGING, ContentType="text/csv", Body=b"not,a,row\n")
    error: dict[str, Any] = dict(model_error.value.response)
    assert error["Error"]["Code"] == "ModelError"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error["OriginalStatusCode"] == 400
    assert "row 1" in error["OriginalMessage"]

    with pytest.raises(ClientError) as unknown:
        client.invoke_endpoint(EndpointName="no-such-endpoint", ContentType="text/csv", Body=ROW)
    assert unknown.value.response["Error"]["Code"] == "ValidationError"
    assert unknown.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "Endpoint no-such-endpoint of account 000000000000 not found." in str(unknown.value)

    status, _, body = post(
        url, "/invocations", b"1,2,3\n", {"Content-Type": "text/csv", "X-Endpoint": STAGING}
    )
    assert status == 400 and b"row 1" in body
    status, _, body = post(url, "/invocations", ROW, {"Content-Type": "text/plain", "X-Endpoint": STAGING})
    assert status == 415 and b"unsupported content type" in body
    status, headers, body = post(url, "/invocations", ROW, {"Content-Type": "text/csv"})
    if platform.endpoint_history("production"):  # two endpoints served: the header must choose
        assert status == 400 and b"name the endpoint in the X-Endpoint header" in body
    else:
        assert status == 200 and headers["x-model-version"] == str(hosted.v1)

    assert get(url, "/ping", {}) == 200
    assert get(url, "/ping", {"X-Endpoint": STAGING}) == 200
    assert get(url, "/ping", {"X-Endpoint": "no-such-endpoint"}) == 503
    assert client.invoke_endpoint(EndpointName=STAGING, ContentType="text/csv", Body=ROW)["Body"].read()


def test_rollback_only_to_versions_the_endpoint_served(hosted: Hosted) -> None:
    platform = hosted.platform
    platform.deploy("staging", hosted.v1, "U-dev")
    platform.deploy("staging", hosted.v2, "U-dev")
    client = runtime_client(platform.endpoint_url)
    after_deploy = client.invoke_endpoint(EndpointName=STAGING, ContentType="text/csv", Body=ROW)
    assert after_deploy["ResponseMetadata"]["HTTPHeaders"]["x-model-version"] == str(hosted.v2)

    with pytest.raises(InvalidRequest, match=f"staging already serves v{hosted.v2}"):
        platform.rollback("staging", hosted.v2, "U-dev")
    info = platform.rollback("staging", hosted.v1, "U-ops")
    assert (info.status, info.version) == (EndpointStatus.IN_SERVICE, hosted.v1)
    served = client.invoke_endpoint(EndpointName=STAGING, ContentType="text/csv", Body=ROW)
    assert served["ResponseMetadata"]["HTTPHeaders"]["x-model-version"] == str(hosted.v1)
    last = platform.endpoint_history("staging")[-3:]
    assert [(d.version, d.kind) for d in last] == [
        (hosted.v1, "deploy"),
        (hosted.v2, "deploy"),
        (hosted.v1, "rollback"),
    ]
    assert last[-1].deployed_by == "U-ops"
    assert [d.deployed_at for d in last] == sorted(d.deployed_at for d in last)

    with pytest.raises(InvalidRequest, match="production has never served a model"):
        platform.rollback("production", hosted.v1, "U-ops")
    platform.deploy("production", hosted.v2, "U-ops")
    with pytest.raises(InvalidRequest, match=rf"production never served v{hosted.v1}: .*\(v{hosted.v2}\)"):
        platform.rollback("production", hosted.v1, "U-ops")
    with pytest.raises(InvalidRequest, match="unknown environment 'qa'"):
        platform.rollback("qa", hosted.v1, "U-ops")  # type: ignore[arg-type]


def test_switching_versions_under_load_fails_no_request(hosted: Hosted) -> None:
    platform = hosted.platform
    platform.deploy("staging", hosted.v1, "U-dev")
    platform.deploy("staging", hosted.v2, "U-dev")
    host, port = platform.endpoint_url.removeprefix("http://").split(":")
    stop = threading.Event()
    failures: list[str] = []
    seen: set[str] = set()
    counts = [0]
    answered = threading.Condition()

    def hammer() -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        while not stop.is_set():
            try:
                connection.request(
                    "POST",
                    f"/endpoints/{STAGING}/invocations",
                    body=ROW,
                    headers={"Content-Type": "text/csv"},
                )
                response = connection.getresponse()
                body = response.read()
                ok = response.status == 200 and 0.0 <= float(body) <= 1.0
                with answered:
                    counts[0] += 1
                    seen.add(response.getheader("X-Model-Version") or "")
                    if not ok:
                        failures.append(f"{response.status}: {body[:200]!r}")
                    answered.notify_all()
            except (OSError, http.client.HTTPException, ValueError) as exc:
                with answered:
                    failures.append(repr(exc))
                    answered.notify_all()
                connection.close()
                connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.close()

    def more_answers(count: int) -> None:
        """Let the workers get ``count`` more answers, so every switch happens under load."""
        with answered:
            target = counts[0] + count
            assert answered.wait_for(lambda: counts[0] >= target or bool(failures), 60), "no answers"

    workers = [threading.Thread(target=hammer) for _ in range(4)]
    for worker in workers:
        worker.start()
    switches = 0
    try:
        for i in range(6):
            more_answers(10)
            target = hosted.v1 if i % 2 == 0 else hosted.v2
            assert platform.rollback("staging", target, "U-load").version == target
            switches += 1
        more_answers(10)
    finally:
        stop.set()
        for worker in workers:
            worker.join(10)
    assert switches == 6
    assert failures == []
    assert counts[0] >= 70
    assert seen == {str(hosted.v1), str(hosted.v2)}


def test_endpoint_events_announce_persisted_states(hosted: Hosted) -> None:
    platform = hosted.platform
    platform.deploy("staging", hosted.v1, "U-dev")
    assert platform.flush_events()
    start = len(hosted.events)
    platform.deploy("staging", hosted.v2, "U-dev")
    assert platform.flush_events()
    endpoint_events = [e for e in hosted.events[start:] if e["detail-type"] == DT_ENDPOINT]
    assert [e["detail"]["EndpointStatus"] for e in endpoint_events] == ["UPDATING", "IN_SERVICE"]
    detail = endpoint_events[-1]["detail"]
    assert detail["EndpointName"] == STAGING
    assert detail["EndpointArn"] == f"arn:aws:sagemaker:local:000000000000:endpoint/{STAGING}"
    assert endpoint_events[-1]["resources"] == [detail["EndpointArn"]]
    assert detail["EndpointConfigName"] == platform.endpoint_history("staging")[-1].config_name
    assert isinstance(detail["CreationTime"], float) and detail["LastModifiedTime"] >= detail["CreationTime"]
    assert detail["Tags"] == {"environment": "staging", "model-package-group": "mlops-xgboost"}
    assert "FailureReason" not in detail
    first = [e for e in hosted.events if e["detail-type"] == DT_ENDPOINT][:2]
    assert [e["detail"]["EndpointStatus"] for e in first] == ["CREATING", "IN_SERVICE"]


def test_a_model_that_does_not_load_fails_the_deploy_and_the_old_one_keeps_serving(
    hosted: Hosted, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = hosted.platform
    platform.deploy("staging", hosted.v1, "U-dev")
    real_load = serving.Scorer.load

    def corrupt(model_dir: Path) -> serving.Scorer:
        if Path(model_dir).name == f"v{hosted.v2}":
            raise ValueError("xgboost-model is not an XGBoost model: truncated file")
        return real_load(model_dir)

    monkeypatch.setattr(serving.Scorer, "load", staticmethod(corrupt))
    assert platform.flush_events()
    start = len(hosted.events)
    with pytest.raises(PlatformError, match=f"deploy of v{hosted.v2} to staging failed: .*truncated file"):
        platform.deploy("staging", hosted.v2, "U-dev")
    info = platform.describe_endpoint("staging")
    assert info.status is EndpointStatus.FAILED and info.version == hosted.v1
    assert info.failure_reason is not None and "truncated file" in info.failure_reason
    response = runtime_client(platform.endpoint_url).invoke_endpoint(
        EndpointName=STAGING, ContentType="text/csv", Body=ROW
    )
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-model-version"] == str(hosted.v1)
    assert platform.flush_events()
    statuses = [e["detail"] for e in hosted.events[start:] if e["detail-type"] == DT_ENDPOINT]
    assert [d["EndpointStatus"] for d in statuses] == ["UPDATING", "FAILED"]
    assert "truncated file" in statuses[-1]["FailureReason"]

    monkeypatch.setattr(serving.Scorer, "load", real_load)
    assert platform.deploy("staging", hosted.v2, "U-dev").status is EndpointStatus.IN_SERVICE


def test_validate_runs_the_staging_checks_over_http(hosted: Hosted) -> None:
    platform = hosted.platform
    platform.deploy("staging", hosted.v1, "U-dev")
    report = platform.validate("staging")
    assert report["passed"] is True, report["checks"]
    assert report["endpoint"] == STAGING and report["model_version"] == hosted.v1
    assert {c["name"] for c in report["checks"]} >= {"ping", "accuracy", "latency", "malformed_request"}
    assert report["accuracy"] >= 0.8
    assert report["p50_ms"] == report["p95_ms"] == 1.0  # timed on the platform's clock


def test_unapproved_versions_never_reach_an_endpoint(hosted: Hosted) -> None:
    platform = hosted.platform
    platform.update_approval(hosted.v2, ApprovalStatus.REJECTED, "bias found")
    try:
        with pytest.raises(InvalidRequest, match=f"v{hosted.v2} is Rejected: only Approved"):
            platform.deploy("production", hosted.v2, "U-ops")
    finally:
        platform.update_approval(hosted.v2, ApprovalStatus.APPROVED, "fixed")


# -- the host as its own process --------------------------------------------------------------------


@pytest.fixture
def detached_home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "detached"
    yield home
    record = read_host_record(home)
    stop_host_process(home)  # waits for the host it started to exit
    if record is not None and _alive(record.pid):
        os.kill(record.pid, signal.SIGKILL)
        os.waitpid(record.pid, 0)  # this process started it: reap it
        pytest.fail(f"the endpoint host (pid {record.pid}) outlived its test")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_endpoint_host_process_outlives_the_platform(detached_home: Path, small_data: Path) -> None:
    platform = LocalPlatform(detached_home, data_dir=small_data.parent, policy=LOW_GATE)
    v1 = train_version(platform, small_data, num_round="5")
    v2 = train_version(platform, small_data, num_round="2", max_depth="2")
    platform.deploy("production", v1, "U-ops")
    record = read_host_record(detached_home)
    assert record is not None and record.pid != os.getpid()
    assert record.url == platform.endpoint_url
    platform.close()

    client = runtime_client(record.url)
    response = client.invoke_endpoint(
        EndpointName="mlops-xgboost-production", ContentType="text/csv", Body=ROW
    )
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-model-version"] == str(v1)

    # A later command deploys through the running host: same process, new version served at once.
    later = LocalPlatform(detached_home)
    try:
        later.deploy("production", v2, "U-ops")
        assert live_host(detached_home) == record
        response = client.invoke_endpoint(
            EndpointName="mlops-xgboost-production", ContentType="text/csv", Body=ROW
        )
        assert response["ResponseMetadata"]["HTTPHeaders"]["x-model-version"] == str(v2)
    finally:
        later.close()
    assert stop_host_process(detached_home) is True
    assert live_host(detached_home) is None
