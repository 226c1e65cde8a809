from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ml import validate
from ml.clock import Clock
from ml.serving import BadInput, Scorer
from ml.validate import InvokeError, parse_scores, validate_endpoint
from tests.ml.clocks import ticking_clock

Invoke = Callable[[bytes, str], tuple[bytes, str]]
CHECKS = ["response_shape", "score_range", "accuracy", "latency", "malformed_request"]


def validated(invoke: Invoke, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """``validate_endpoint`` on a ticking clock (each timed call lasts 1 ms) unless a test brings its
    own clock: no outcome here depends on how busy the machine is."""
    kwargs.setdefault("clock", ticking_clock())
    return validate_endpoint(invoke, *args, **kwargs)


def _in_process(scorer: Scorer) -> Invoke:
    def invoke(body: bytes, content_type: str) -> tuple[bytes, str]:
        return scorer.predict(body, content_type)

    return invoke


def _transform(scorer: Scorer, change: Callable[[float], float]) -> Invoke:
    """An endpoint that scores correctly, then distorts every score."""

    def invoke(body: bytes, content_type: str) -> tuple[bytes, str]:
        payload, response_type = scorer.predict(body, content_type)
        return "".join(f"{change(float(v))}\n" for v in payload.split()).encode(), response_type

    return invoke


def _check(report: dict[str, Any], name: str) -> dict[str, Any]:
    matches = [c for c in report["checks"] if c["name"] == name]
    assert len(matches) == 1, report["checks"]
    found: dict[str, Any] = matches[0]
    return found


def _failed(report: dict[str, Any]) -> list[str]:
    return [c["name"] for c in report["checks"] if not c["passed"]]


def test_a_good_endpoint_passes(scorer: Scorer) -> None:
    report = validated(_in_process(scorer), endpoint="staging", ping=lambda: True)
    assert report["passed"], report["checks"]
    assert [c["name"] for c in report["checks"]] == ["ping", *CHECKS]
    assert report["endpoint"] == "staging"
    assert report["rows"] == 200
    assert 0.8 <= report["accuracy"] <= 1.0
    assert report["p50_ms"] == report["p95_ms"] == 1.0  # one tick of the clock per call
    assert report["started_at"] <= report["finished_at"]
    assert "refused with status 400" in _check(report, "malformed_request")["detail"]
    json.dumps(report)  # the report is plain JSON


def test_scores_outside_zero_one_fail_the_range_check(scorer: Scorer) -> None:
    report = validated(_transform(scorer, lambda p: p + 1.0), latency_samples=5)
    assert not report["passed"]
    assert "score_range" in _failed(report)
    assert "outside [0, 1]" in _check(report, "score_range")["detail"]


def test_a_bad_model_fails_the_accuracy_check(scorer: Scorer) -> None:
    report = validated(_transform(scorer, lambda p: 1.0 - p), latency_samples=5)
    assert _failed(report) == ["accuracy"]
    assert report["accuracy"] < 0.5
    assert "< threshold 0.8" in _check(report, "accuracy")["detail"]


class SteppedClock:
    """A clock that moves only when told: each call to a slow fake endpoint advances it."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def clock(self) -> Clock:
        return Clock(wall=lambda: self.now, monotonic=lambda: self.now, sleep=self.advance)


def _timed(scorer: Scorer, seconds_per_call: float) -> dict[str, Any]:
    """Validate an endpoint whose every call takes ``seconds_per_call`` on an injected clock."""
    inner = _in_process(scorer)
    stepped = SteppedClock()

    def takes_its_time(body: bytes, content_type: str) -> tuple[bytes, str]:
        stepped.advance(seconds_per_call)
        return inner(body, content_type)

    return validated(takes_its_time, latency_budget_ms=5.0, latency_samples=8, clock=stepped.clock())


def test_a_slow_endpoint_fails_the_latency_check(scorer: Scorer) -> None:
    report = _timed(scorer, 0.02)
    assert _failed(report) == ["latency"]
    assert report["p95_ms"] >= 20
    assert report["p50_ms"] == report["p95_ms"] == 20.0
    assert "budget 5 ms" in _check(report, "latency")["detail"]


def test_latency_within_budget_passes_and_the_report_is_stamped_by_the_clock(scorer: Scorer) -> None:
    report = _timed(scorer, 0.004)
    assert report["passed"], report["checks"]
    assert report["p95_ms"] == 4.0
    assert report["started_at"] == "2027-01-15T08:00:00+00:00"
    assert report["finished_at"] > report["started_at"]  # every call moved the clock on


def test_a_wrong_number_of_scores_fails_the_shape_check(scorer: Scorer) -> None:
    inner = _in_process(scorer)

    def drops_one(body: bytes, content_type: str) -> tuple[bytes, str]:
        payload, response_type = inner(body, content_type)
        return b"\n".join(payload.split()[:-1]), response_type

    report = validated(drops_one, latency_samples=3)
    assert _failed(report)[:3] == ["response_shape", "score_range", "accuracy"]
    assert "sent 200 rows (from row 1), got 199 scores back" in _check(report, "response_shape")["detail"]


def test_accepting_malformed_requests_fails(scorer: Scorer) -> None:
    inner = _in_process(scorer)

    def lenient(body: bytes, content_type: str) -> tuple[bytes, str]:
        try:
            return inner(body, content_type)
        except BadInput:
            return b"0.5\n", "text/csv"

    report = validated(lenient, latency_samples=3)
    assert _failed(report) == ["malformed_request"]
    assert "answered as if valid" in _check(report, "malformed_request")["detail"]


def test_server_errors_for_malformed_requests_fail(scorer: Scorer) -> None:
    inner = _in_process(scorer)

    def crashes(body: bytes, content_type: str) -> tuple[bytes, str]:
        try:
            return inner(body, content_type)
        except BadInput as exc:
            raise InvokeError("internal error", status=500) from exc

    report = validated(crashes, latency_samples=3)
    assert _failed(report) == ["malformed_request"]
    assert "status 500, expected a 4xx refusal" in _check(report, "malformed_request")["detail"]


def test_an_unreachable_endpoint_fails_every_check() -> None:
    def down(body: bytes, content_type: str) -> tuple[bytes, str]:
        raise InvokeError("connection refused")

    report = validated(down, latency_samples=3)
    assert not report["passed"]
    assert _failed(report) == CHECKS
    assert report["accuracy"] is None and report["p95_ms"] is None


def test_a_failed_ping_skips_the_rest() -> None:
    calls: list[bytes] = []

    def never(body: bytes, content_type: str) -> tuple[bytes, str]:
        calls.append(body)
        return b"", content_type

    report = validated(never, ping=lambda: False)
    assert _failed(report) == ["ping", *CHECKS]
    assert not calls


def test_label_first_csv_data(scorer: Scorer, prepared: tuple[Path, dict[str, Any]]) -> None:
    """Preprocessing's test.csv (label, then encoded features) is valid validation data."""
    report = validated(
        _in_process(scorer), prepared[0] / "test" / "test.csv", sample_size=300, latency_samples=5
    )
    assert report["passed"], report["checks"]
    assert report["rows"] == 300


def test_bad_arguments_raise_value_error(scorer: Scorer, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        validated(_in_process(scorer), tmp_path / "missing.csv")
    (tmp_path / "bad.csv").write_text("label,x\n1,2\nyes,3\n")
    with pytest.raises(ValueError, match="line 3 starts with 'yes', not a 0/1 label"):
        validated(_in_process(scorer), tmp_path / "bad.csv")
    with pytest.raises(ValueError, match="threshold"):
        validated(_in_process(scorer), threshold=1.5)


def test_parse_scores_accepts_the_sagemaker_layouts() -> None:
    assert parse_scores(b"0.1,0.2,0.3", "text/csv") == [0.1, 0.2, 0.3]
    assert parse_scores(b"0.1\n0.2\n", "text/csv; charset=utf-8") == [0.1, 0.2]
    assert parse_scores(b'{"predictions": [{"score": 0.4}, {"score": 1}]}', "application/json") == [0.4, 1.0]
    with pytest.raises(ValueError, match="is not a number"):
        parse_scores(b'{"predictions": [{"label": 1}]}', "application/json")


def test_validate_does_not_import_the_ml_stack() -> None:
    code = (
        "import sys, ml.validate; "
        "print(sorted(m for m in ('numpy', 'pandas', 'xgboost', 'sklearn') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    assert result.stdout.strip() == "[]"


# -- through boto3 against an HTTP server speaking the InvokeEndpoint API ---------------------------
@pytest.fixture
def runtime_url(scorer: Scorer, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    path = re.compile(r"^/endpoints/(?P<name>[^/]+)/invocations$")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            match = path.match(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if match is None or match["name"] != "mlops-staging":
                self._reply(404, b'{"message": "no such endpoint"}', "application/json", "ValidationError")
                return
            try:
                payload, content_type = scorer.predict(body, self.headers.get("Content-Type", ""))
            except BadInput as exc:
                self._reply(
                    400, json.dumps({"message": str(exc)}).encode(), "application/json", "ValidationError"
                )
                return
            self._reply(200, payload, content_type)

        def _reply(self, status: int, payload: bytes, content_type: str, error: str | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            if error:
                self.send_header("x-amzn-ErrorType", error)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_runtime_invoker_reports_http_status(runtime_url: str) -> None:
    invoke = validate.runtime_invoker("mlops-staging", endpoint_url=runtime_url, region="us-east-1")
    with pytest.raises(InvokeError) as refused:
        invoke(b"1,2,3\n", "text/csv")
    assert refused.value.status == 400
    assert "row 1 has 3 values" in str(refused.value)
    missing = validate.runtime_invoker("nope", endpoint_url=runtime_url, region="us-east-1")
    with pytest.raises(InvokeError) as not_found:
        missing(b"1\n", "text/csv")
    assert not_found.value.status == 404


def test_main_validates_through_the_runtime_api(
    runtime_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "reports" / "report.json"
    argv = [
        "--endpoint",
        "mlops-staging",
        "--endpoint-url",
        runtime_url,
        "--region",
        "us-east-1",
        "--output",
        str(output),
    ]
    assert validate.main(argv, clock=ticking_clock()) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(output.read_text())
    assert printed["passed"] and printed["endpoint"] == "mlops-staging"

    assert validate.main([*argv[:6], "--threshold", "0.999"], clock=ticking_clock()) == 1
    assert not json.loads(capsys.readouterr().out)["passed"]


def test_main_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert validate.main([]) == 2
    assert validate.main(["--endpoint", "x", "--threshold", "high"]) == 2
    assert validate.main(["--endpoint", "x", "--region", "us-east-1", "--threshold", "0"]) == 2
    assert (
        validate.main(["--endpoint", "x", "--region", "us-east-1", "--data", str(tmp_path / "missing")]) == 2
    )
    assert "does not exist" in capsys.readouterr().err


def test_main_without_a_region_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    assert validate.main(["--endpoint", "x"]) == 2
    err = capsys.readouterr().err
    assert (
        "no AWS region: pass --region (e.g. --region eu-west-1), or set AWS_REGION or AWS_DEFAULT_REGION"
        in err
    )
    assert "You must specify a region" not in err


def test_main_takes_the_region_from_aws_region(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    # the region resolves, so the run gets as far as the (missing) data file
    assert validate.main(["--endpoint", "x", "--data", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_a_ragged_sample_is_refused(scorer: Scorer, tmp_path: Path) -> None:
    (tmp_path / "ragged.csv").write_text("1,0.5,0.2\n0,0.1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="labelled row 2 has 1 values but the first has 2"):
        validated(_in_process(scorer), tmp_path / "ragged.csv")


def test_an_endpoint_scoring_short_rows_fails_the_malformed_check(scorer: Scorer) -> None:
    """SageMaker's built-in XGBoost scores a row with fewer columns; validation must catch that."""
    inner = _in_process(scorer)

    def lenient_on_width(body: bytes, content_type: str) -> tuple[bytes, str]:
        try:
            return inner(body, content_type)
        except BadInput as exc:
            if "row 1 has 13 values" in str(exc):  # one short of the 14 raw columns
                return b"0.5\n", "text/csv"
            raise

    report = validated(lenient_on_width, latency_samples=3)
    assert _failed(report) == ["malformed_request"]
    detail = _check(report, "malformed_request")["detail"]
    assert "malformed request refused with status 400" in detail
    assert "row one value short was answered as if valid" in detail


def test_a_changed_label_first_file_is_read_again(tmp_path: Path) -> None:
    """The parsed rows are kept per version of the file: an edit (new size or mtime) is seen."""
    data = tmp_path / "labelled.csv"
    data.write_text("label,a,b\n1,x,2\n0,y,3\n")
    first = validate.load_sample(data, 10, seed=1)
    assert sorted(first.labels) == [0, 1] and sorted(first.rows) == [["x", "2"], ["y", "3"]]
    first.rows[0][0] = "changed by the caller"  # each draw gets its own lists
    assert sorted(validate.load_sample(data, 10, seed=1).rows) == [["x", "2"], ["y", "3"]]
    data.write_text("label,a,b\n1,x,2\n0,y,3\n1,z,4\n")
    again = validate.load_sample(data, 10, seed=1)
    assert sorted(again.labels) == [0, 1, 1] and ["z", "4"] in again.rows
    data.write_text("label,a,b\n1,x\n0,y,3\n")
    with pytest.raises(ValueError, match="labelled row 2 has 2 values but the first has 1"):
        validate.load_sample(data, 10, seed=1)
