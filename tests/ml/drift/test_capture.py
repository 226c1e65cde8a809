"""Captured traffic in SageMaker's data-capture layout, written as SageMaker writes it."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ml.drift import arrow
from ml.drift.capture import read_folder, read_streams
from ml.drift.check import check

NOW = datetime(2026, 12, 7, 17, 45, tzinfo=UTC)


@pytest.fixture(params=[True, False], ids=["pyarrow", "stdlib"])
def accelerate(request: pytest.FixtureRequest) -> bool:
    """Both readers: pyarrow's for whole files where it is installed, and the standard library's."""
    if request.param:
        assert arrow.available(), "the test environment has pyarrow: its path must be tested"
    return bool(request.param)


def record(body: str, content_type: str, encoding: str, output: str, at: datetime) -> str:
    def part(mode: str, data: str, ctype: str) -> dict[str, str]:
        if encoding == "BASE64":
            data = base64.b64encode(data.encode()).decode()
        return {"observedContentType": ctype, "mode": mode, "data": data, "encoding": encoding}

    out_type = "application/json" if encoding == "JSON" else "text/csv; charset=utf-8"
    return json.dumps(
        {
            "captureData": {
                "endpointInput": part("INPUT", body, content_type),
                "endpointOutput": part("OUTPUT", output, out_type),
            },
            "eventMetadata": {
                "eventId": "8f45e35c-fa44-40d2-8ed3-1bcab3a596f3",
                "inferenceTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
            "eventVersion": "0",
        }
    )


def csv_line(values: list[str]) -> str:
    return ", ".join(values)


def test_csv_json_and_base64_records_give_the_same_rows(accelerate: bool, adult_test: pd.DataFrame) -> None:
    columns = list(adult_test.columns)
    sample = adult_test.head(3).values.tolist()
    at = NOW - timedelta(minutes=5)
    lines = [
        record(csv_line(sample[0]), "text/csv", "CSV", "0.25", at),
        record(
            json.dumps({"instances": [sample[1], dict(zip(columns, sample[2], strict=True))]}),
            "application/json",
            "JSON",
            json.dumps({"predictions": [{"score": 0.5}, {"score": 0.75}]}),
            at,
        ),
        record(csv_line(sample[0]) + "\n" + csv_line(sample[1]), "text/csv", "BASE64", "0.1\n0.2", at),
    ]
    capture = read_streams(
        [("\n".join(lines) + "\n").encode()], columns, timedelta(hours=24), NOW, accelerate=accelerate
    )
    assert capture.records == 3 and capture.malformed == 0 and capture.skipped == 0
    assert capture.rows.values.tolist() == [sample[0], sample[0], sample[1], sample[1], sample[2]]
    assert sorted(capture.scores.tolist()) == [0.1, 0.2, 0.25, 0.5, 0.75]
    assert capture.window == ("2026-12-07T17:40:00Z", "2026-12-07T17:40:00Z")


def test_malformed_lines_are_counted_and_encoded_vectors_skipped(
    accelerate: bool, adult_test: pd.DataFrame
) -> None:
    columns = list(adult_test.columns)
    good = record(csv_line(adult_test.iloc[0].tolist()), "text/csv", "CSV", "0.3", NOW)
    vector = record(",".join(["0"] * 108), "text/csv", "CSV", "0.4", NOW)
    bad = [
        "{not json",
        json.dumps({"captureData": {}}),
        record("x", "text/csv", "BASE64", "0.1", NOW)[:-3] + "!!}",
    ]
    broken_b64 = good.replace('"encoding": "CSV"', '"encoding": "BASE64"', 1)
    text = "\n".join([good, *bad, vector, broken_b64, good]) + "\n"
    capture = read_streams([text.encode()], columns, None, NOW, accelerate=accelerate)
    assert capture.records == 3  # two good ones and the encoded vector
    assert capture.malformed == 4
    assert capture.skipped == 1
    assert len(capture.rows) == 2


def test_since_keeps_only_the_window_with_an_injected_clock(
    accelerate: bool, tmp_path: Path, adult_test: pd.DataFrame
) -> None:
    columns = list(adult_test.columns)
    endpoint = tmp_path / "capture" / "mlops-staging"
    rows = adult_test.head(40).values.tolist()
    for hours_ago in (0, 2, 30):
        at = NOW - timedelta(hours=hours_ago)
        folder = endpoint / "AllTraffic" / at.strftime("%Y/%m/%d/%H")
        folder.mkdir(parents=True)
        lines = [record(csv_line(r), "text/csv", "CSV", "0.5", at) for r in rows[hours_ago : hours_ago + 5]]
        (folder / f"{at:%M-%S}-0001.jsonl").write_text("\n".join(lines) + "\n")
    day = read_folder(endpoint, columns, timedelta(hours=24), NOW, accelerate=accelerate)
    assert day.records == 10 and day.window == ("2026-12-07T15:45:00Z", "2026-12-07T17:45:00Z")
    hour = read_folder(endpoint, columns, timedelta(hours=1), NOW, accelerate=accelerate)
    assert hour.records == 5
    everything = read_folder(endpoint, columns, None, NOW, accelerate=accelerate)
    assert everything.records == 15
    assert read_folder(tmp_path / "nothing", columns, None, NOW, accelerate=accelerate).records == 0


def test_a_check_on_captured_adult_rows_does_not_drift(
    accelerate: bool, adult_baseline: dict[str, Any], adult_test: pd.DataFrame
) -> None:
    columns = list(adult_test.columns)
    lines = [record(csv_line(r), "text/csv", "CSV", "0.5", NOW) for r in adult_test.values.tolist()]
    capture = read_streams(
        [("\n".join(lines) + "\n").encode()], columns, timedelta(hours=1), NOW, accelerate=accelerate
    )
    report = check(adult_baseline, capture.rows, capture.scores, window=capture.window)
    assert report.rows == len(adult_test) and report.status == "ok"
    assert report.window == ("2026-12-07T17:45:00Z", "2026-12-07T17:45:00Z")


def test_both_readers_agree_on_awkward_bodies(accelerate: bool, adult_test: pd.DataFrame) -> None:
    columns = list(adult_test.columns)
    rows = adult_test.head(4).values.tolist()
    quoted = ", ".join(f'"{v}"' for v in rows[2])
    lines = [
        record(csv_line(rows[0]) + "\n" + csv_line(rows[1]), "text/csv", "CSV", "0.1\n0.2", NOW),  # two rows
        record(quoted, "text/csv", "CSV", "0.3", NOW),  # quoted fields
        record("   ", "text/csv", "CSV", "0.4", NOW),  # blank: neither a row nor skipped
        record(",".join(["1"] * 5), "text/csv", "CSV", "0.5", NOW),  # another width: skipped
        record(csv_line(rows[3]), "text/csv", "CSV", "0.6", NOW - timedelta(days=3)),  # outside the window
        record(csv_line(rows[3]), "text/csv", "CSV", "not a score", NOW),  # malformed
    ]
    capture = read_streams(
        [("\n".join(lines) + "\n").encode()], columns, timedelta(hours=1), NOW, accelerate=accelerate
    )
    assert sorted(capture.rows.values.tolist()) == sorted(rows[:3])
    assert sorted(capture.scores.tolist()) == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert (capture.records, capture.skipped, capture.malformed) == (4, 1, 1)


def test_records_the_local_endpoints_write_are_read(accelerate: bool, adult_test: pd.DataFrame) -> None:
    from ml.local.capture_record import Invocation, line

    columns = list(adult_test.columns)
    rows = adult_test.head(4).values.tolist()
    csv_type, answer_type = "text/csv", "text/csv; charset=utf-8"

    def invocation(request: str, request_type: str, response: str, response_type: str) -> Invocation:
        return Invocation(
            "mlops-xgboost-staging", "AllTraffic", request.encode(), request_type, response.encode(),
            response_type, NOW, "8f45e35c-fa44-40d2-8ed3-1bcab3a596f3",
        )  # fmt: skip

    written = [
        invocation(csv_line(rows[0]) + "\n", csv_type, "0.25\n", answer_type),
        invocation(f"{csv_line(rows[1])}\n{csv_line(rows[2])}\n", csv_type, "0.1\n0.2\n", answer_type),
        invocation(
            json.dumps({"instances": [dict(zip(columns, rows[3], strict=True))]}),
            "application/json",
            json.dumps({"predictions": [{"score": 0.5}]}),
            "application/json",
        ),
    ]
    data = b"".join(line(i) for i in written)
    capture = read_streams([data], columns, timedelta(hours=1), NOW, accelerate=accelerate)
    assert (capture.records, capture.skipped, capture.malformed) == (3, 0, 0)
    assert sorted(capture.rows.values.tolist()) == sorted(rows)
    assert sorted(capture.scores.tolist()) == [0.1, 0.2, 0.25, 0.5]
