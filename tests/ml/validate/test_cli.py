"""``python -m ml validate``: the JSON report, the lines for people, ``--rows`` and usage errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ml import validate
from tests.ml.clocks import ticking_clock


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


def test_rows_sets_the_sample_and_the_report_says_how_many_were_used(
    runtime_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--endpoint", "mlops-staging", "--endpoint-url", runtime_url, "--region", "us-east-1"]
    assert validate.main([*argv, "--rows", "75"], clock=ticking_clock()) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["rows"] == report["rows_requested"] == 75
    low, high = report["accuracy_ci"]
    accuracy = f"accuracy {report['correct'] / 75:.3f} on 75 rows (95 % CI {low:.3f}–{high:.3f})"
    assert f"PASS accuracy: {accuracy} >= threshold 0.8" in captured.err.splitlines()
    assert "PASS response_shape: one score for each of 75 rows" in captured.err.splitlines()
    # the older spelling still works, for workflows written before --rows
    assert validate.main([*argv, "--sample-size", "60"], clock=ticking_clock()) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 60


def test_rows_beyond_the_data_use_all_of_it_and_say_so(
    runtime_url: str, prepared: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    test_csv = prepared[0] / "test" / "test.csv"
    held = prepared[1]["test_rows"]
    argv = ["--endpoint", "mlops-staging", "--endpoint-url", runtime_url, "--region", "us-east-1"]
    validate.main([*argv, "--data", str(test_csv), "--rows", "5000"], clock=ticking_clock())
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert (report["rows"], report["rows_requested"]) == (held, 5000)
    assert f"on {held} rows" in captured.err
    assert f"5000 rows asked, the data holds only {held}" in captured.err


def test_rows_below_one_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert validate.main(["--endpoint", "x", "--region", "us-east-1", "--rows", "0"]) == 2
    assert "--rows must be at least 1, not 0" in capsys.readouterr().err
    assert validate.main(["--endpoint", "x", "--rows", "many"]) == 2
    assert "argument --rows/--sample-size: invalid int value: 'many'" in capsys.readouterr().err
