"""Capture records: SageMaker's JSON Lines format, encodings and truncation."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from ml.local.capture_record import (
    Invocation,
    Stamps,
    encoding_of,
    hour_folder,
    inference_time,
    line,
    record,
)

AT = datetime(2026, 12, 7, 17, 45, 0, 250_000, tzinfo=UTC)


def invocation(request: bytes, request_type: str | None, response: bytes = b"0.5\n") -> Invocation:
    return Invocation(
        "ep", "AllTraffic", request, request_type, response, "text/csv; charset=utf-8", AT, "e-1"
    )


def test_a_csv_record_is_sagemakers_line() -> None:
    assert json.loads(line(invocation(b"1,2\n", "text/csv"))) == {
        "captureData": {
            "endpointInput": {
                "observedContentType": "text/csv",
                "mode": "INPUT",
                "data": "1,2\n",
                "encoding": "CSV",
            },
            "endpointOutput": {
                "observedContentType": "text/csv; charset=utf-8",
                "mode": "OUTPUT",
                "data": "0.5\n",
                "encoding": "CSV",
            },
        },
        "eventMetadata": {"eventId": "e-1", "inferenceTime": "2026-12-07T17:45:00Z"},
        "eventVersion": "0",
    }
    assert line(invocation(b"1,2\n", "text/csv")).count(b"\n") == 1  # one line, the newline escaped


def test_encodings_follow_the_content_type_lists() -> None:
    assert encoding_of("text/csv; charset=utf-8") == "CSV"
    assert encoding_of("Application/JSON") == "JSON"
    assert encoding_of("application/x-recordio-protobuf") == "BASE64"
    assert encoding_of(None) == "BASE64"
    side = record(invocation(b"\x00\x01", "application/x-recordio-protobuf"))["captureData"]["endpointInput"]
    assert side["encoding"] == "BASE64" and base64.b64decode(side["data"]) == b"\x00\x01"
    missing = record(invocation(b"{}", None))["captureData"]["endpointInput"]
    assert missing["observedContentType"] == "application/octet-stream"


def test_a_large_body_is_cut_at_a_row_and_flagged() -> None:
    body = b"".join(f"{i},1\n".encode() for i in range(100))
    side = record(invocation(body, "text/csv"), max_body=50)["captureData"]["endpointInput"]
    assert side["truncated"] is True
    assert len(side["data"]) <= 50 and side["data"].endswith("\n")
    assert body.decode().startswith(side["data"])
    whole = record(invocation(body, "text/csv"))["captureData"]["endpointInput"]
    assert "truncated" not in whole and whole["data"] == body.decode()


def test_the_hour_folder_is_utc() -> None:
    paris = AT.astimezone(timezone(timedelta(hours=1)))
    assert hour_folder(invocation(b"", "text/csv")) == ("ep", "AllTraffic", "2026", "12", "07", "17")
    moved = Invocation("ep", "AllTraffic", b"", None, b"", None, paris, "e")
    assert hour_folder(moved)[-1] == "17"


@pytest.mark.parametrize(
    ("request_body", "request_type", "response_body", "response_type", "max_body"),
    [
        (b"39,State-gov,77516\n", "text/csv", b"0.25\n", "text/csv; charset=utf-8", 1024),
        (b'{"rows": [["caf\xc3\xa9", "\\"q\\"", "\\u2028"]]}', "application/json", b"[0.5]", None, 1024),
        (b"\x00\xff\x10", "application/x-recordio-protobuf", b"\x01", "Application/X-Thing", 1024),
        (b"bad \xff utf-8 \t\r\n", "text/csv; charset=latin-1", b"", 'text/\u00e9"x', 1024),
        (b"".join(f"{i},1\n".encode() for i in range(40)), "text/csv", b"x" * 90, "application/json", 50),
    ],
)
def test_a_line_is_byte_for_byte_the_records_compact_json(
    request_body: bytes,
    request_type: str | None,
    response_body: bytes,
    response_type: str | None,
    max_body: int,
) -> None:
    captured = Invocation(
        "ep-\u00e9", "AllTraffic", request_body, request_type, response_body, response_type, AT, "e-1"
    )
    expected = json.dumps(record(captured, max_body), separators=(",", ":"), ensure_ascii=False) + "\n"
    assert line(captured, max_body) == expected.encode("utf-8")
    assert line(captured, max_body, inferred_at=inference_time(AT)) == expected.encode("utf-8")


def test_stamps_work_folders_and_times_out_once_per_hour_and_second_and_match_the_plain_functions() -> None:
    stamps = Stamps()
    paris = timezone(timedelta(hours=1))
    moments = [
        AT,
        AT + timedelta(milliseconds=500),  # same second
        AT + timedelta(seconds=1),
        AT.astimezone(paris) + timedelta(minutes=20),  # next UTC hour, written in another zone
        AT + timedelta(days=40),
    ]
    for at in moments:
        for endpoint in ("ep", "other"):
            captured = Invocation(endpoint, "AllTraffic", b"", None, b"", None, at, "e")
            assert stamps.folder(captured) == hour_folder(captured)
            assert stamps.inference_time(captured) == inference_time(at)
