"""The capture writer: sampling, rotation, the size bound, a full queue and write errors."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ml.clock import Clock
from ml.local.capture import CaptureSettings, CaptureWriter
from ml.local.capture_record import Invocation

START = datetime(2026, 12, 7, 17, 45, 0, tzinfo=UTC)


class ManualClock:
    def __init__(self, at: datetime = START) -> None:
        self.at = at

    def clock(self) -> Clock:
        return Clock(wall=self.wall)

    def wall(self) -> float:
        return self.at.timestamp()


def capture_files(root: Path) -> list[Path]:
    return sorted(root.glob("*/*/*/*/*/*/*.jsonl"), key=lambda p: p.parts[-5:])


def records(root: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for path in capture_files(root) for line in path.read_text().splitlines()]


def total_bytes(root: Path) -> int:
    return sum(path.stat().st_size for path in capture_files(root))


@pytest.fixture
def writers() -> Iterator[list[CaptureWriter]]:
    made: list[CaptureWriter] = []
    yield made
    for writer in made:
        writer.close()


def offer_rows(writer: CaptureWriter, count: int, size: int = 10) -> list[bool]:
    return [
        writer.offer(
            "ep", "AllTraffic", f"{i},".encode().ljust(size, b"0") + b"\n", "text/csv", b"0.5\n", "text/csv"
        )
        for i in range(count)
    ]


def test_every_invocation_at_100_percent_is_written_in_sagemakers_format(
    tmp_path: Path, writers: list[CaptureWriter]
) -> None:
    writer = CaptureWriter(tmp_path, clock=ManualClock().clock())
    writers.append(writer)
    assert all(offer_rows(writer, 5))
    assert writer.flush(10)
    [path] = capture_files(tmp_path)
    assert path.relative_to(tmp_path).parts[:6] == ("ep", "AllTraffic", "2026", "12", "07", "17")
    found = records(tmp_path)
    assert [r["captureData"]["endpointInput"]["data"] for r in found] == [
        f"{i},".ljust(10, "0") + "\n" for i in range(5)
    ]
    assert found[0]["eventMetadata"]["inferenceTime"] == "2026-12-07T17:45:00Z"
    assert found[0]["captureData"]["endpointOutput"] == {
        "observedContentType": "text/csv",
        "mode": "OUTPUT",
        "data": "0.5\n",
        "encoding": "CSV",
    }
    assert len({r["eventMetadata"]["eventId"] for r in found}) == 5


def test_sampling_at_30_percent_picks_what_the_seeded_source_says(
    tmp_path: Path, writers: list[CaptureWriter]
) -> None:
    writer = CaptureWriter(tmp_path, CaptureSettings(percent=30), rng=random.Random(7).random)
    writers.append(writer)
    picked = offer_rows(writer, 100)
    assert writer.flush(10)
    draws = random.Random(7)
    expected = [i for i in range(100) if draws.random() * 100 < 30]
    assert [i for i, kept in enumerate(picked) if kept] == expected
    assert 20 <= len(expected) <= 40  # about 30 %, so the rule above is the sample, not all or nothing
    written = [int(r["captureData"]["endpointInput"]["data"].split(",")[0]) for r in records(tmp_path)]
    assert written == expected


def test_zero_percent_captures_nothing(tmp_path: Path, writers: list[CaptureWriter]) -> None:
    writer = CaptureWriter(tmp_path, CaptureSettings(percent=0))
    writers.append(writer)
    assert not any(offer_rows(writer, 20))
    assert writer.flush(10)
    assert capture_files(tmp_path) == []


class CheckedWriter(CaptureWriter):
    """Checks the size bound after every batch the thread writes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.totals: list[int] = []
        super().__init__(*args, **kwargs)

    def write_batch(self, batch: list[Invocation]) -> None:
        super().write_batch(batch)
        self.totals.append(total_bytes(self.root))


def test_files_rotate_by_size_and_the_oldest_go_first_under_the_bound(
    tmp_path: Path, writers: list[CaptureWriter]
) -> None:
    clock = ManualClock()
    settings = CaptureSettings(max_bytes=6_000, file_bytes=1_000)
    writer = CheckedWriter(tmp_path, settings, clock=clock.clock())
    writers.append(writer)
    for i in range(60):
        clock.at = START + timedelta(milliseconds=i)
        writer.offer("ep", "AllTraffic", f"{i},1\n".encode(), "text/csv", b"0.5\n", "text/csv")
        if i % 7 == 0:  # several batches, not one
            assert writer.flush(10)
    assert writer.flush(10)
    files = capture_files(tmp_path)
    assert len(files) >= 4
    assert all(path.stat().st_size <= 1_000 for path in files)
    assert len(writer.totals) > 1 and max(writer.totals) <= 6_000
    kept = [int(r["captureData"]["endpointInput"]["data"].split(",")[0]) for r in records(tmp_path)]
    assert kept == list(range(kept[0], 60)) and kept[0] > 0  # the newest kept, the oldest deleted


def test_a_new_file_starts_at_the_hour_boundary(tmp_path: Path, writers: list[CaptureWriter]) -> None:
    clock = ManualClock(START.replace(minute=59, second=59))
    writer = CaptureWriter(tmp_path, clock=clock.clock())
    writers.append(writer)
    offer_rows(writer, 2)
    assert writer.flush(10)
    clock.at = START.replace(hour=18, minute=0, second=1)
    offer_rows(writer, 1)
    assert writer.flush(10)
    hours = [path.relative_to(tmp_path).parts[5] for path in capture_files(tmp_path)]
    assert hours == ["17", "18"]


def test_files_left_by_an_earlier_host_count_against_the_bound(
    tmp_path: Path, writers: list[CaptureWriter]
) -> None:
    old = tmp_path / "ep" / "AllTraffic" / "2026" / "12" / "06" / "09" / "00-00-000-old.jsonl"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"x" * 900)
    writer = CaptureWriter(tmp_path, CaptureSettings(max_bytes=1_000), clock=ManualClock().clock())
    writers.append(writer)
    offer_rows(writer, 1)
    assert writer.flush(10)
    assert not old.exists() and not old.parent.exists()  # the empty hour folder goes too
    assert len(records(tmp_path)) == 1


class HeldWriter(CaptureWriter):
    """A writer whose thread waits on ``release`` before writing anything."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.release = threading.Event()
        self.writing = threading.Event()
        super().__init__(*args, **kwargs)

    def write_batch(self, batch: list[Invocation]) -> None:
        self.writing.set()
        assert self.release.wait(10)
        super().write_batch(batch)


def test_a_full_queue_drops_and_counts_instead_of_blocking(
    tmp_path: Path, writers: list[CaptureWriter]
) -> None:
    writer = HeldWriter(tmp_path, CaptureSettings(queue_size=3))
    writers.append(writer)
    assert offer_rows(writer, 1) == [True]
    assert writer.writing.wait(10)  # the thread holds that one; the queue is empty again
    kept = offer_rows(writer, 10)  # returns at once although nothing is written
    assert kept == [True] * 3 + [False] * 7
    assert writer.dropped == 7
    writer.release.set()
    assert writer.flush(10)
    assert len(records(tmp_path)) == 4


def test_a_write_error_is_logged_and_counted_never_raised(
    tmp_path: Path, writers: list[CaptureWriter], caplog: pytest.LogCaptureFixture
) -> None:
    # A file where the capture folder should be: writing fails for any user (a read-only folder does
    # not stop root, whom these tests may run as).
    root = tmp_path / "capture"
    root.write_text("not a folder")
    writer = CaptureWriter(root)
    writers.append(writer)
    assert offer_rows(writer, 3) == [True] * 3  # the caller sees nothing of the failure
    assert writer.flush(10)
    assert writer.write_errors >= 1
    assert "capture: writing" in caplog.text
    root.unlink()
    root.mkdir()
    assert offer_rows(writer, 1) == [True]  # the writer goes on once the folder can be written
    assert writer.flush(10)
    assert len(records(root)) == 1


def test_settings_refuse_out_of_range_values() -> None:
    with pytest.raises(ValueError, match="from 0 to 100, not 101"):
        CaptureSettings(percent=101)
    with pytest.raises(ValueError, match="max_bytes must be at least 1"):
        CaptureSettings(max_bytes=0)
