"""``mlops-bot drift``: the served version's baseline against a CSV or the captured traffic."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ml.datasets import adult_test_path, open_text
from ml.local import LocalPlatform
from ml.local.endpoints import stop_host_process
from tests.ml.drift.test_capture import csv_line, record
from tests.runtimes.cli.conftest import run

FIELDS = {"environment", "version", "status", "rows", "skipped", "window", "features", "score", "source"}


@pytest.fixture
def drift_home(release_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """v1 serving staging and production."""
    monkeypatch.setenv("MLOPS_HOME", str(release_home))
    monkeypatch.delenv("MLOPS_USER", raising=False)
    yield release_home
    stop_host_process(release_home)


def adult_test_rows(label: bool) -> list[list[str]]:
    with open_text(adult_test_path()) as handle:
        lines = [line.strip() for line in handle if line.strip() and not line.startswith("|")]
    rows = [[f.strip() for f in line.split(",")] for line in lines]
    return rows if label else [r[:-1] for r in rows]


@pytest.mark.parametrize("label", [True, False], ids=["with-label", "without-label"])
def test_held_out_data_does_not_drift(
    drift_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], label: bool
) -> None:
    data = tmp_path / "rows.csv"
    data.write_text("\n".join(", ".join(r) for r in adult_test_rows(label)) + "\n")
    code, out, err = run(capsys, "drift", "staging", "--data", str(data), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert set(report) >= FIELDS
    assert report["status"] == "ok" and report["rows"] == 16281 and report["version"] == 1
    assert report["window"] is None
    assert len(report["features"]) == 14
    assert all(f["psi"] < 0.1 and f["status"] == "ok" for f in report["features"])


def test_shifted_data_drifts_and_the_text_lists_features_by_psi(
    drift_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = adult_test_rows(label=False)
    for r in rows:
        r[0] = str(int(r[0]) + 20)
        r[12] = str(int(r[12]) * 2)
    data = tmp_path / "shifted.csv"
    data.write_text("\n".join(", ".join(r) for r in rows) + "\n")
    code, out, _ = run(capsys, "drift", "production", "--data", str(data))
    assert code == 4
    lines = out.splitlines()
    assert lines[0].startswith("production v1: drift (16281 rows")
    assert [line.split()[0] for line in lines[1:3]] == sorted(
        ["age", "hours-per-week"], key=lambda n: -1
    ) or {line.split()[0] for line in lines[1:3]} == {"age", "hours-per-week"}
    assert all(line.rstrip().endswith("drift") for line in lines[1:3])
    assert all(line.rstrip().endswith("ok") for line in lines[3:])


def test_captured_traffic_in_the_window(drift_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    now = datetime.now(UTC)
    rows = adult_test_rows(label=False)
    code, _, err = run(capsys, "drift", "staging", "--since", "1h")
    assert code == 1 and "no captured traffic for staging (endpoint " in err and "in the last 1h" in err
    endpoint = err.split("(endpoint ", 1)[1].split(")", 1)[0]
    for hours_ago, chunk in ((0, rows[:8000]), (3, rows[8000:])):
        at = now - timedelta(hours=hours_ago)
        folder = drift_home / "capture" / endpoint / "AllTraffic" / at.strftime("%Y/%m/%d/%H")
        folder.mkdir(parents=True)
        lines = [record(csv_line(r), "text/csv", "CSV", "0.2", at) for r in chunk]
        (folder / "capture.jsonl").write_text("\n".join([*lines, "{broken"]) + "\n")
    code, out, err = run(capsys, "drift", "staging", "--since", "2h", "--json")
    assert code == 4, err  # every score is 0.2: far from the test split's scores
    report = json.loads(out)
    assert report["rows"] == 8000 and report["status"] == "drift" and report["score"]["status"] == "drift"
    assert report["source"]["malformed"] == 1 and report["source"]["since"] == "2h"
    assert report["window"]["start"] <= report["window"]["end"]
    assert all(f["status"] == "ok" for f in report["features"])
    code, out, _ = run(capsys, "drift", "staging", "--since", "7d", "--json")
    assert json.loads(out)["rows"] == 16281
    code, out, _ = run(capsys, "drift", "staging", "--since", "7d")
    assert code == 4 and out.startswith("staging v1: drift (16281 rows, 2 malformed lines, ")
    assert out.splitlines()[1].split()[:1] == ["score"]  # the highest PSI first


def test_each_refusal_says_why(
    drift_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("39, State-gov\n")
    code, _, err = run(capsys, "drift", "staging", "--data", str(bad))
    assert code == 2 and "bad.csv line 1: 2 fields; expected 14 features" in err
    code, _, err = run(capsys, "drift", "staging", "--since", "yesterday")
    assert code == 2 and "--since: a window is a duration such as 30m, 24h or 7d" in err
    # The version files are shared by every copy of the template home: stand in for an old version.
    monkeypatch.setattr(LocalPlatform, "baseline", lambda self, version: None)
    code, _, err = run(capsys, "drift", "staging", "--data", str(bad))
    assert (
        code == 1
        and "v1 has no drift baseline: it was trained before drift baselines existed; retrain" in err
    )


def test_an_environment_serving_nothing_is_refused(
    cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "drift", "production")
    assert code == 1 and "production serves nothing" in err


def test_traffic_the_local_endpoints_capture_is_checked(
    drift_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ml.local.capture import CaptureSettings, CaptureWriter, capture_root

    code, _, err = run(capsys, "drift", "production", "--since", "1h")
    assert code == 1 and "no captured traffic for production" in err
    endpoint = err.split("(endpoint ", 1)[1].split(")", 1)[0]
    writer = CaptureWriter(capture_root(drift_home), CaptureSettings(queue_size=5000))
    try:
        for row in adult_test_rows(label=False)[:4000]:
            request = (", ".join(row) + "\n").encode()
            assert writer.offer(
                endpoint, "AllTraffic", request, "text/csv", b"0.2\n", "text/csv; charset=utf-8"
            )
        assert writer.flush(60)
    finally:
        writer.close()
    code, out, err = run(capsys, "drift", "production", "--since", "1h", "--json")
    report = json.loads(out)
    assert report["rows"] == 4000 and report["skipped"] == 0 and report["source"]["malformed"] == 0
    assert all(f["status"] == "ok" for f in report["features"]), [f["name"] for f in report["features"]]
    assert report["score"]["status"] == "drift" and code == 4  # every score 0.2
