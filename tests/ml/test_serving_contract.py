"""The serving contract, served as SageMaker's XGBoost container serves it, behind SageMaker's runtime API.

The model is the one this project trains (the session's ``trained`` fixture). Script mode runs the
submit directory ``upload-code`` ships (``serving_code.archive()``, extracted); algorithm mode is the
same booster with no script, as the built-in algorithm would serve it.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import socket
import tarfile
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from ml import serving_code, validate
from ml.local.container import Container, load_container
from ml.local.runtime_answers import MAX_PAYLOAD_BYTES, TIMED_OUT
from ml.local.runtime_api import RuntimeServer
from ml.local.script_mode import INTERNAL_SERVER_ERROR_HTML, UserError
from ml.sagemaker.clients import aws_session
from tests.ml.clocks import ticking_clock

ROW = "39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, 2174, 0, 40, United-States\n"  # noqa: E501
ACCOUNT = "000000000000"


@dataclass
class _Served:
    version: int
    container: Container


class _Source:
    """Endpoints by name, for a ``RuntimeServer`` without a platform around it."""

    region = "us-east-1"
    account = ACCOUNT

    def __init__(self) -> None:
        self.endpoints: dict[str, _Served] = {}

    def serving(self, name: str) -> _Served | None:
        return self.endpoints.get(name)

    def served_names(self) -> list[str]:
        return sorted(self.endpoints)

    def status(self) -> dict[str, Any]:
        return {"endpoints": {n: {"mode": s.container.mode} for n, s in self.endpoints.items()}}


@dataclass
class Hosting:
    source: _Source
    server: RuntimeServer
    url: str
    client: Any


@pytest.fixture(scope="module")
def submit_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("code")
    with tarfile.open(fileobj=io.BytesIO(serving_code.archive()), mode="r:gz") as tar:
        tar.extractall(target, filter="data")
    return target


@pytest.fixture(scope="module")
def hosting(
    trained: tuple[Path, dict[str, Any]], submit_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Hosting]:
    model_dir = trained[0]
    booster_only = tmp_path_factory.mktemp("algorithm-model")
    shutil.copyfile(model_dir / "xgboost-model", booster_only / "xgboost-model")
    source = _Source()
    source.endpoints["script"] = _Served(
        1, load_container(model_dir, serving_code.environment(str(submit_dir)))
    )
    source.endpoints["algorithm"] = _Served(1, load_container(booster_only, {}))
    server = RuntimeServer(("127.0.0.1", 0), source)

    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    client = aws_session().client(
        "sagemaker-runtime",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1}),
    )
    yield Hosting(source, server, url, client)
    server.shutdown()
    server.server_close()
    thread.join(5)


def _model_error(
    hosting: Hosting, endpoint: str, body: bytes | str | None = None, **kwargs: Any
) -> dict[str, Any]:
    if body is not None:
        kwargs["Body"] = body
    with pytest.raises(hosting.client.exceptions.ModelError) as raised:
        hosting.client.invoke_endpoint(EndpointName=endpoint, **kwargs)
    response: dict[str, Any] = dict(raised.value.response)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert response["Error"]["Code"] == "ModelError"
    return response


# -- script mode: the contract ----------------------------------------------------------------------
def test_staging_validation_passes_against_script_mode(
    hosting: Hosting, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    report = validate.validate_endpoint(
        validate.runtime_invoker("script", endpoint_url=hosting.url, region="us-east-1"),
        endpoint="script",
        clock=ticking_clock(),  # each call "takes" 1 ms: the latency check cannot depend on the load
    )
    assert report["passed"] is True, report["checks"]
    assert report["accuracy"] >= 0.8
    assert [c["name"] for c in report["checks"]] == [
        "response_shape",
        "score_range",
        "accuracy",
        "latency",
        "malformed_request",
    ]
    assert all(c["passed"] for c in report["checks"])
    malformed = next(c for c in report["checks"] if c["name"] == "malformed_request")
    assert "row one value short refused with status 400" in malformed["detail"]


def test_script_mode_takes_raw_rows_as_csv_and_json(hosting: Hosting) -> None:
    csv_answer = hosting.client.invoke_endpoint(EndpointName="script", ContentType="text/csv", Body=ROW + ROW)
    assert csv_answer["ContentType"] == "text/csv; charset=utf-8"  # no Accept: the registered default
    scores = [float(x) for x in csv_answer["Body"].read().split()]
    assert len(scores) == 2 and 0.0 <= scores[0] <= 1.0
    instance = [v.strip() for v in ROW.split(",")]
    json_answer = hosting.client.invoke_endpoint(
        EndpointName="script",
        ContentType="application/json",
        Accept="application/json",
        Body=f'{{"instances": [{instance!r}]}}'.replace("'", '"'),
    )
    assert json_answer["ContentType"] == "application/json"
    (prediction,) = json.loads(json_answer["Body"].read())["predictions"]
    assert prediction["score"] == pytest.approx(scores[0], rel=1e-8)


@pytest.mark.parametrize(
    ("kwargs", "status", "fragment"),
    [
        ({"ContentType": "text/csv", "Body": ROW.rsplit(",", 1)[0]}, 400, "row 1 has 13 values; expected"),
        ({"ContentType": "text/csv", "Body": "this-is-not-a-valid-row\n"}, 400, "row 1 has 1 values"),
        ({"ContentType": "text/plain", "Body": ROW}, 415, "unsupported content type 'text/plain'"),
        ({"ContentType": "text/csv", "Accept": "application/xml", "Body": ROW}, 406, "unsupported Accept"),
        ({"ContentType": "application/json", "Body": "{"}, 400, "malformed JSON"),
    ],
)
def test_script_mode_refuses_what_the_contract_does_not_take(
    hosting: Hosting, kwargs: dict[str, str], status: int, fragment: str
) -> None:
    response = _model_error(hosting, "script", **kwargs)
    assert response["OriginalStatusCode"] == status
    assert fragment in response["OriginalMessage"]
    assert response["Error"]["Message"].startswith(
        f"Received client error ({status}) from primary with message"
    )
    assert response["LogStreamArn"].startswith(f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/sagemaker/")


# -- algorithm mode: what the built-in container does with the same requests -------------------------
def test_raw_rows_sent_to_algorithm_mode_fail_with_the_containers_415(hosting: Hosting) -> None:
    response = _model_error(hosting, "algorithm", ROW, ContentType="text/csv")
    assert response["OriginalStatusCode"] == 415
    # numpy's own words end the message; numpy 2 may show the value as a numpy scalar (np.str_(...))
    assert re.fullmatch(
        r"Loading csv data failed with Exception, please ensure data is in csv format:\n"
        r" <class 'ValueError'>\n could not convert string to float: (np\.str_\()?' State-gov'\)?",
        response["OriginalMessage"],
    ), response["OriginalMessage"]
    assert response["Error"]["Message"].startswith('Received client error (415) from primary with message "')


def test_algorithm_mode_scores_a_short_numeric_row_without_complaint(
    hosting: Hosting, prepared: tuple[Path, dict[str, Any]]
) -> None:
    first = (prepared[0] / "test" / "test.csv").read_text().splitlines()[0].split(",")[1:]
    answer = hosting.client.invoke_endpoint(
        EndpointName="algorithm", ContentType="text/csv", Body=",".join(first[:5])
    )
    assert answer["ContentType"] == "text/csv; charset=utf-8"
    assert 0.0 <= float(answer["Body"].read()) <= 1.0


def test_validation_fails_an_algorithm_mode_endpoint_even_with_encoded_rows(
    hosting: Hosting, prepared: tuple[Path, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    invoke = validate.runtime_invoker("algorithm", endpoint_url=hosting.url, region="us-east-1")
    encoded = validate.validate_endpoint(invoke, prepared[0] / "test" / "test.csv", endpoint="algorithm")
    checks = {c["name"]: c for c in encoded["checks"]}
    assert checks["accuracy"]["passed"] is True  # the booster itself is fine
    assert checks["malformed_request"]["passed"] is False
    assert "row one value short was answered as if valid" in checks["malformed_request"]["detail"]
    assert encoded["passed"] is False

    raw = validate.validate_endpoint(invoke, endpoint="algorithm")
    raw_checks = {c["name"]: c for c in raw["checks"]}
    assert raw["passed"] is False
    assert "Loading csv data failed" in raw_checks["response_shape"]["detail"]


@pytest.mark.parametrize(
    ("content_type", "status", "message"),
    [
        ("text/plain", 415, "text/plain is not an accepted ContentType: csv, libsvm, parquet"),
        ("text/csv;label_size=2", 415, "Optional parameter label_size must be equal to 1"),
        ("application/x-parquet", 415, "Content-type application/x-parquet is not supported."),
    ],
)
def test_algorithm_mode_content_types(hosting: Hosting, content_type: str, status: int, message: str) -> None:
    response = _model_error(hosting, "algorithm", "1,2,3", ContentType=content_type)
    assert response["OriginalStatusCode"] == status
    assert message in response["OriginalMessage"]


def test_algorithm_mode_refuses_an_unsupported_accept_with_406(hosting: Hosting) -> None:
    response = _model_error(hosting, "algorithm", "1,2,3", ContentType="text/csv", Accept="text/html")
    assert response["OriginalStatusCode"] == 406
    assert response["OriginalMessage"].startswith("Accept type text/html is not supported.")


# -- how the container runs a script -------------------------------------------------------------------
def _script(tmp_path: Path, source: str) -> dict[str, str]:
    (tmp_path / "inference.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return serving_code.environment(str(tmp_path))


def test_an_exception_in_a_handler_is_flasks_500(tmp_path: Path, trained: tuple[Path, Any]) -> None:
    env = _script(
        tmp_path,
        """
        def model_fn(model_dir):
            return "model"
        def predict_fn(data, model):
            raise RuntimeError("boom")
        """,
    )
    container = load_container(trained[0], env)
    answer = container.invoke(b"1,2", "text/csv", None)
    assert (answer.status, answer.body.decode()) == (500, INTERNAL_SERVER_ERROR_HTML)


def test_the_container_refuses_to_start_with_transform_fn_and_input_fn(
    tmp_path: Path, trained: tuple[Path, Any]
) -> None:
    env = _script(
        tmp_path,
        """
        def model_fn(model_dir): return 1
        def input_fn(body, content_type): return body
        def transform_fn(model, body, content_type, accept): return body, accept
        """,
    )
    with pytest.raises(UserError, match="Cannot use transform_fn implementation with input_fn"):
        load_container(trained[0], env)


def test_a_script_without_model_fn_never_starts(tmp_path: Path, trained: tuple[Path, Any]) -> None:
    env = _script(tmp_path, "def predict_fn(data, model): return data\n")
    with pytest.raises(NotImplementedError, match="Please provide a model_fn implementation"):
        load_container(trained[0], env)


def test_transform_fn_gets_text_for_csv_and_the_default_accept(
    tmp_path: Path, trained: tuple[Path, Any]
) -> None:
    env = _script(
        tmp_path,
        """
        def model_fn(model_dir): return "m"
        def transform_fn(model, content, content_type, accept):
            return repr((model, content, content_type, accept)), "text/plain"
        """,
    )
    container = load_container(trained[0], {**env, "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"})
    answer = container.invoke(b"1,2", "text/csv", "*/*")
    assert answer.status == 200 and answer.content_type == "text/plain; charset=utf-8"
    assert answer.body == repr(("m", "1,2", "text/csv", "text/csv")).encode()
    raw = container.invoke(b"\x00\x01", None, "application/json")
    assert raw.body == repr(("m", "\x00\x01", "application/json", "application/json")).encode()
    binary = container.invoke(b"\x00\x01", "application/octet-stream", None)
    assert binary.body == repr(("m", b"\x00\x01", "application/octet-stream", "text/csv")).encode()


# -- SageMaker's limits --------------------------------------------------------------------------------
def test_a_container_that_does_not_answer_in_time_is_a_model_error_with_status_0(
    tmp_path: Path, trained: tuple[Path, Any], hosting: Hosting
) -> None:
    env = _script(
        tmp_path,
        """
        import threading
        GATE = threading.Event()
        def model_fn(model_dir): return None
        def transform_fn(model, content, content_type, accept):
            GATE.wait(30)
            return b"late", "text/csv"
        """,
    )
    container = load_container(trained[0], env)
    hosting.source.endpoints["slow"] = _Served(1, container)
    hosting.server.invocation_timeout = 0.05
    try:
        response = _model_error(hosting, "slow", "1", ContentType="text/csv")
    finally:
        hosting.server.invocation_timeout = 60.0
        container.module.GATE.set()  # type: ignore[attr-defined]
        del hosting.source.endpoints["slow"]
    assert response["OriginalStatusCode"] == 0
    assert response["OriginalMessage"] == TIMED_OUT
    assert response["Error"]["Message"].startswith("Received server error (0) from primary")


def test_a_payload_over_6_mb_is_refused_before_the_container_sees_it(hosting: Hosting) -> None:
    with pytest.raises(ClientError) as raised:
        hosting.client.invoke_endpoint(
            EndpointName="script", ContentType="text/csv", Body=b"1" * (MAX_PAYLOAD_BYTES + 1)
        )
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert raised.value.response["Error"] == {
        "Code": "413",
        "Message": "HTTP content length exceeded 6291456 bytes.",
    }
    at_limit = _model_error(hosting, "script", b"1" * MAX_PAYLOAD_BYTES, ContentType="text/csv")
    assert at_limit["OriginalStatusCode"] == 400  # reached the script, which refused the row


def _raw(hosting: Hosting, request: bytes) -> bytes:
    port = int(hosting.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        chunks = []
        while chunk := connection.recv(65536):  # the server closes the connection after refusing
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    ("headers", "status", "fragment"),
    [
        # A huge declared body is refused from the header alone: nothing of it is sent or read.
        (f"Content-Length: {10 * MAX_PAYLOAD_BYTES}\r\n", b"413", b"HTTP content length exceeded 6291456"),
        ("Content-Length: -5\r\n", b"400", b"bad Content-Length '-5'"),
        ("Content-Length: 12abc\r\n", b"400", b"bad Content-Length '12abc'"),
        ("Transfer-Encoding: chunked\r\n", b"411", b"a Content-Length header is required"),
    ],
)
def test_the_runtime_api_refuses_bad_framing_without_reading_the_body(
    hosting: Hosting, headers: str, status: bytes, fragment: bytes
) -> None:
    request = (
        "POST /endpoints/script/invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
        f"{headers}Connection: keep-alive\r\n\r\n"
    ).encode()
    answer = _raw(hosting, request)
    assert answer.startswith(b"HTTP/1.1 " + status), answer[:200]
    assert fragment in answer
    assert b"Connection: close" in answer
    # the host still serves
    scored = hosting.client.invoke_endpoint(EndpointName="script", ContentType="text/csv", Body=ROW)
    assert 0.0 <= float(scored["Body"].read()) <= 1.0
