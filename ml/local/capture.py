"""Data capture of the local endpoints: a sample of invocations written as SageMaker writes them.

Layout (``ml.local.capture_record`` has the record format and what it was checked against)::

    home/capture/<endpoint>/<variant>/YYYY/MM/DD/HH/<MM-SS-mmm>-<uuid>.jsonl

The runtime API hands each successful invocation to ``CaptureWriter.offer``; the sample
(``percent``, SageMaker's ``InitialSamplingPercentage``) is drawn there and a picked invocation's raw
pieces (bodies, content types, the time) are queued. One writer thread turns them into records (event
id, JSON line, hour folder), so capture never slows an invocation
down and never fails one: when the queue is full the invocation is dropped and counted, and a write
error is logged and counted.

A file is closed and a new one started after ``file_bytes`` or when the UTC hour changes. After every
batch written, the whole capture folder is brought back under ``max_bytes`` by deleting the oldest
files first (as SageMaker stops capturing when its disk fills, the oldest data is the one to give up).
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from ml.clock import SYSTEM_CLOCK, Clock

from .capture_record import MAX_BODY_BYTES, Invocation, Stamps, line

log = logging.getLogger(__name__)

CAPTURE_DIR = "capture"
_MB = 1024 * 1024

#: What the request's thread queues: endpoint, variant, request body and type, response body and type,
#: and the wall-clock time of the invocation.
_Offered = tuple[str, str, bytes, str | None, bytes, str | None, float]


@dataclass(frozen=True)
class CaptureSettings:
    #: share of invocations captured, 0-100 (``MLOPS_CAPTURE_PERCENT``; 0 turns capture off)
    percent: int = 100
    #: bound on the whole capture folder (``MLOPS_CAPTURE_MAX_MB``)
    max_bytes: int = 200 * _MB
    #: a file is closed and a new one started past this size
    file_bytes: int = 8 * _MB
    #: bodies larger than this are cut and flagged
    max_body_bytes: int = MAX_BODY_BYTES
    #: invocations waiting for the writer; more are dropped
    queue_size: int = 1000

    def __post_init__(self) -> None:
        if isinstance(self.percent, bool) or not 0 <= self.percent <= 100:
            raise ValueError(f"capture percent must be a whole number from 0 to 100, not {self.percent!r}")
        for name in ("max_bytes", "file_bytes", "max_body_bytes", "queue_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"capture {name} must be at least 1, not {getattr(self, name)!r}")


@dataclass
class _OpenFile:
    path: Path
    handle: BinaryIO
    folder: tuple[str, ...]
    size: int = 0


class CaptureWriter:
    """Samples invocations and writes the picked ones below ``root`` on its own thread."""

    def __init__(
        self,
        root: Path,
        settings: CaptureSettings | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
        rng: Callable[[], float] = random.random,
    ) -> None:
        """``rng`` draws the sample (a float in [0, 1) per invocation): inject a seeded one in tests."""
        self.root = Path(root)
        self.settings = settings or CaptureSettings()
        self._clock = clock
        self._rng = rng
        self._queue: queue.Queue[_Offered | None] = queue.Queue(self.settings.queue_size)
        self._lock = threading.Condition()
        self._queued = 0
        self._handled = 0
        #: invocations sampled but dropped because the queue was full
        self.dropped = 0
        #: batches a write error lost
        self.write_errors = 0
        self._open: dict[tuple[str, str], _OpenFile] = {}
        self._stamps = Stamps()
        self._sizes: dict[Path, int] = {}  # every capture file, oldest first, with its size
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="ml-local-capture", daemon=True)
        self._thread.start()

    # -- the request path ------------------------------------------------------------------------

    def offer(
        self,
        endpoint: str,
        variant: str,
        request: bytes,
        request_type: str | None,
        response: bytes,
        response_type: str | None,
    ) -> bool:
        """Queue the invocation if the sample picks it; never blocks. True when queued."""
        if self._closed or self._rng() * 100 >= self.settings.percent:
            return False
        # Only the time is read here; the record is built on the writer's thread.
        offered = (endpoint, variant, request, request_type, response, response_type, self._clock.wall())
        with self._lock:
            try:
                self._queue.put_nowait(offered)
            except queue.Full:
                self.dropped += 1
                return False
            self._queued += 1
        return True

    # -- lifecycle ---------------------------------------------------------------------------------

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is written (or lost to an error); False on timeout."""
        with self._lock:
            target = self._queued
            return self._lock.wait_for(lambda: self._handled >= target, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, close the files and stop the thread."""
        if self._closed:
            return
        self._closed = True
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            log.warning("capture: the writer did not drain its queue within %.0f s", timeout)
        self._thread.join(timeout)

    # -- the writer thread -------------------------------------------------------------------------

    def _run(self) -> None:
        self._sizes = self._existing_files()
        stop = False
        while not stop:
            batch: list[Invocation] = []
            item = self._queue.get()
            while item is not None:
                batch.append(_invocation(item))
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            stop = item is None
            if batch:
                self._write_safely(batch)
        self._close_files()

    def _write_safely(self, batch: list[Invocation]) -> None:
        try:
            self.write_batch(batch)
        except Exception:
            self.write_errors += 1
            if self.write_errors == 1 or self.write_errors % 100 == 0:
                log.exception("capture: writing %d record(s) below %s failed", len(batch), self.root)
            self._close_files()
        finally:
            with self._lock:
                self._handled += len(batch)
                self._lock.notify_all()

    def write_batch(self, batch: list[Invocation]) -> None:
        """Append each record to its endpoint's current file, then enforce the bound."""
        touched: set[tuple[str, str]] = set()
        for invocation in batch:
            data = line(
                invocation, self.settings.max_body_bytes, inferred_at=self._stamps.inference_time(invocation)
            )
            current = self._file_for(invocation, len(data))
            current.handle.write(data)
            current.size += len(data)
            self._sizes[current.path] = current.size
            touched.add((invocation.endpoint, invocation.variant))
        for key in touched:
            if key in self._open:
                self._open[key].handle.flush()
        self._enforce_bound()

    def _file_for(self, invocation: Invocation, incoming: int) -> _OpenFile:
        key = (invocation.endpoint, invocation.variant)
        folder = self._stamps.folder(invocation)
        current = self._open.get(key)
        if current is not None and (
            current.folder != folder or current.size + incoming > self.settings.file_bytes
        ):
            current.handle.close()
            del self._open[key]
            current = None
        if current is None:
            directory = self.root.joinpath(*folder)
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / _file_name(invocation.at)
            current = _OpenFile(path, open(path, "ab"), folder)  # noqa: SIM115 - kept open across batches
            self._open[key] = current
            self._sizes[path] = 0
        return current

    def _enforce_bound(self) -> None:
        total = sum(self._sizes.values())
        while total > self.settings.max_bytes and self._sizes:
            oldest = next(iter(self._sizes))
            total -= self._sizes.pop(oldest)
            for key, current in list(self._open.items()):
                if current.path == oldest:
                    current.handle.close()
                    del self._open[key]
            try:
                oldest.unlink()
            except FileNotFoundError:
                log.debug("capture: %s was already gone", oldest)
            self._remove_empty_folders(oldest.parent)

    def _remove_empty_folders(self, folder: Path) -> None:
        root = self.root.resolve()
        while folder.resolve() != root and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent

    def _existing_files(self) -> dict[Path, int]:
        """Files an earlier host left, oldest first (by their hour folder, then their name)."""
        if not self.root.is_dir():
            return {}
        found = sorted(self.root.glob("*/*/*/*/*/*/*.jsonl"), key=lambda p: p.parts[-5:])
        return {path: path.stat().st_size for path in found}

    def _close_files(self) -> None:
        for current in self._open.values():
            try:
                current.handle.close()
            except OSError as exc:
                log.warning("capture: closing %s failed: %s", current.path, exc)
        self._open.clear()


def _invocation(offered: _Offered) -> Invocation:
    endpoint, variant, request, request_type, response, response_type, wall = offered
    # the time as ``Clock.now`` gives it, from the wall-clock reading the request's thread took
    at = datetime.fromtimestamp(wall, UTC)
    return Invocation(
        endpoint, variant, request, request_type, response, response_type, at, str(uuid.uuid4())
    )


def _file_name(at: datetime) -> str:
    """``MM-SS-mmm-<uuid>.jsonl``: minute, second and millisecond of the first record, then a unique id."""
    return f"{at:%M-%S}-{at.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"


def capture_root(home: Path) -> Path:
    return Path(home) / CAPTURE_DIR
