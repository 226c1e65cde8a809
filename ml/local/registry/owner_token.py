"""Process liveness through file locks: is the process that owns a run or an endpoint change still there?"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
from pathlib import Path
from typing import IO


class OwnerToken:
    """Proves a process is alive: it holds an exclusive ``flock`` on ``run/<token>.lock`` until it exits.

    Executions and endpoint changes record their owner's token. Any process can then tell a run whose
    process died (the lock is free, whatever happened to the pid since) from one still in progress, even
    within one process (flock locks belong to the open file, not the process).
    """

    _TOKEN = re.compile(r"^[0-9]+-[0-9a-f]{12}$")

    def __init__(self, run_dir: Path) -> None:
        self._run_dir = Path(run_dir)
        self._run_dir.mkdir(parents=True, exist_ok=True)
        self.token = f"{os.getpid()}-{secrets.token_hex(6)}"
        self._path = self._run_dir / f"{self.token}.lock"
        self._handle: IO[str] | None = open(self._path, "w")  # noqa: SIM115 - held until release()
        fcntl.flock(self._handle, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def alive(self, token: str) -> bool:
        if token == self.token:
            return self._handle is not None
        if not self._TOKEN.match(token):
            return False
        path = self._run_dir / f"{token}.lock"
        try:
            handle = open(path, "r+")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            return False
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            path.unlink(missing_ok=True)  # its owner is gone: tidy up
            return False

    def release(self) -> None:
        if self._handle is None:
            return
        self._path.unlink(missing_ok=True)
        fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()
        self._handle = None
