from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ml import validate
from ml.clock import Clock
from ml.serving import BadInput, Scorer
from ml.validate import InvokeError, parse_scores, validate_endpoint
from tests import paths
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
        cwd=paths.ROOT,
    )
    assert result.stdout.strip() == "[]"


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


# -- the accuracy's sample size and interval ------------------------------------------------------
def _echo(body: bytes, content_type: str) -> tuple[bytes, str]:
    """An endpoint whose score for a row is the row's first value: the test data sets each outcome."""
    try:
        scores = [float(line.split(",")[0]) for line in body.decode().splitlines()]
    except ValueError as exc:
        raise InvokeError(str(exc), status=400) from exc
    return "".join(f"{s}\n" for s in scores).encode(), "text/csv"


def _labelled(tmp_path: Path, rows: int, correct: int) -> Path:
    """``rows`` positive rows of which the first ``correct`` are scored right by ``_echo``."""
    path = tmp_path / f"echo-{rows}-{correct}.csv"
    path.write_text("".join(f"1,{1.0 if i < correct else 0.0}\n" for i in range(rows)))
    return path


def test_the_report_gives_the_rows_the_correct_count_and_the_interval(tmp_path: Path) -> None:
    report = validated(_echo, _labelled(tmp_path, 200, 166), latency_samples=3)
    assert (report["rows"], report["rows_requested"], report["correct"]) == (200, 200, 166)
    assert report["accuracy"] == 0.83
    assert report["accuracy_ci"] == pytest.approx([0.771841, 0.875721], abs=1e-6)
    detail = _check(report, "accuracy")["detail"]
    assert detail == "accuracy 0.830 on 200 rows (95 % CI 0.772–0.876) >= threshold 0.8"
    # the gate is accuracy >= threshold, whatever the interval: its lower end is below 0.8 here
    assert report["passed"], report["checks"]


def test_an_accuracy_that_rounds_to_the_threshold_is_shown_to_four_places(tmp_path: Path) -> None:
    report = validated(_echo, _labelled(tmp_path, 200, 159), threshold=0.7951, latency_samples=3)
    assert _failed(report) == ["accuracy"]
    detail = _check(report, "accuracy")["detail"]
    assert detail == "accuracy 0.7950 on 200 rows (95 % CI 0.7337–0.8451) < threshold 0.7951"


def test_a_sample_bigger_than_the_data_uses_all_of_it_and_says_so(tmp_path: Path) -> None:
    report = validated(_echo, _labelled(tmp_path, 120, 120), sample_size=500, latency_samples=3)
    assert (report["rows"], report["rows_requested"], report["correct"]) == (120, 500, 120)
    assert report["accuracy_ci"][1] == 1.0
    detail = _check(report, "accuracy")["detail"]
    assert detail.startswith("accuracy 1.000 on 120 rows (95 % CI 0.969–1.000) >= threshold 0.8")
    assert detail.endswith("; 500 rows asked, the data holds only 120")
