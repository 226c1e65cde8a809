"""Each local run's log file, ``<home>/logs/runs/<execution id>.log``: its steps and what they logged.

A run executes in one worker thread, so the records that thread emits while the run lasts are the
run's; they are copied to its file beside the step lines the runner writes. The file is named by a
path relative to the platform's home, which is what messages show: never a host path.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path, PurePosixPath

RUN_LOGS = PurePosixPath("logs") / "runs"
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def relative_path(execution_suffix: str) -> str:
    """The run's log file relative to the home (``logs/runs/<id>.log``), as lineage records it."""
    return str(RUN_LOGS / f"{execution_suffix}.log")


class _ThisThread(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread == self.thread


class RunLog:
    """One run's log file under ``home``."""

    def __init__(self, home: Path, execution_suffix: str) -> None:
        self.relative = relative_path(execution_suffix)
        self.path = Path(home) / self.relative
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def line(self, at: datetime, message: str) -> None:
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(f"{at.isoformat(timespec='seconds')} {message}\n")

    @contextmanager
    def capture(self) -> Iterator[None]:
        """Copy what this thread logs (at the levels logging lets through) into the file."""
        handler = logging.FileHandler(self.path, encoding="utf-8")
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler.addFilter(_ThisThread())
        root = logging.getLogger()
        root.addHandler(handler)
        try:
            yield
        finally:
            root.removeHandler(handler)
            handler.close()
