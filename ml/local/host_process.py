"""The endpoint host as its own process: ``python -m ml.local serve-endpoints --home H``.

It keeps endpoints up after the command that deployed them exits; ``home/endpoints.json`` records the
process's pid and port, and a lock file serialises start-up so two deploys never start two hosts.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml.clock import SYSTEM_CLOCK, Clock
from ml.platform import PlatformError

from .capture import CaptureSettings
from .endpoint_host import EndpointHost
from .registry import Registry

log = logging.getLogger(__name__)

HOST_FILE = "endpoints.json"
HOST_LOCK_FILE = "endpoint-host.lock"
HOST_LOG_FILE = Path("logs") / "endpoint-host.log"


@dataclass(frozen=True)
class HostRecord:
    pid: int
    port: int
    url: str
    home: str
    started_at: str


def read_host_record(home: Path) -> HostRecord | None:
    path = Path(home) / HOST_FILE
    try:
        data = json.loads(path.read_text())
        return HostRecord(
            pid=int(data["pid"]),
            port=int(data["port"]),
            url=str(data["url"]),
            home=str(data["home"]),
            started_at=str(data["started_at"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_host_record(home: Path, host: EndpointHost, clock: Clock = SYSTEM_CLOCK) -> HostRecord:
    record = HostRecord(
        pid=os.getpid(),
        port=host.port,
        url=host.url,
        home=str(Path(home).resolve()),
        started_at=clock.now().isoformat(),
    )
    path = Path(home) / HOST_FILE
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record.__dict__, indent=2) + "\n")
    os.replace(tmp, path)
    return record


def remove_host_record(home: Path, host: EndpointHost) -> None:
    """Remove ``endpoints.json`` only if it still names this host (another may have replaced it)."""
    record = read_host_record(home)
    if record is not None and record.pid == os.getpid() and record.port == host.port:
        with contextlib.suppress(FileNotFoundError):
            (Path(home) / HOST_FILE).unlink()


def host_status(url: str, timeout: float = 2.0) -> dict[str, Any] | None:
    """The host's ``GET /endpoints`` answer, or None when nothing answers there."""
    try:
        with urllib.request.urlopen(f"{url}/endpoints", timeout=timeout) as response:  # noqa: S310 - http only
            data = json.loads(response.read())
            return data if isinstance(data, dict) else None
    except (OSError, ValueError, urllib.error.URLError):
        return None


def live_host(home: Path) -> HostRecord | None:
    """The recorded host, if it answers and really serves this home (ports get reused)."""
    record = read_host_record(home)
    if record is None:
        return None
    # Generous: on a busy machine a live host may be slow to answer, and a wrong "no host" starts a second.
    status = host_status(record.url, timeout=5.0)
    if status is None or status.get("home") != str(Path(home).resolve()) or status.get("pid") != record.pid:
        return None
    return record


@contextlib.contextmanager
def _host_lock(home: Path) -> Iterator[None]:
    """Serialise host start-up between processes, so two deploys never start two hosts."""
    Path(home).mkdir(parents=True, exist_ok=True)
    with open(Path(home) / HOST_LOCK_FILE, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_children: dict[int, subprocess.Popen[bytes]] = {}


def ensure_host_process(
    home: Path,
    *,
    port: int = 0,
    timeout: float = 60.0,
    clock: Clock = SYSTEM_CLOCK,
    capture: CaptureSettings | None = None,
) -> HostRecord:
    """Return the running host of ``home``, starting ``python -m ml.local serve-endpoints`` if none is.

    ``clock`` times the wait for the new process to answer (polled every 0.1 s). ``capture`` configures
    a host started here; a host already running keeps the capture settings it was started with.
    """
    home = Path(home).resolve()
    with _host_lock(home):
        record = live_host(home)
        if record is not None:
            return record
        log_path = home / HOST_LOG_FILE
        log_path.parent.mkdir(parents=True, exist_ok=True)
        project_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (project_root, env.get("PYTHONPATH", "")) if p)
        command = [
            sys.executable,
            "-m",
            "ml.local",
            "serve-endpoints",
            "--home",
            str(home),
            "--port",
            str(port),
            *capture_arguments(capture or CaptureSettings()),
        ]
        with open(log_path, "ab") as log_file:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # outlives the command (and its Ctrl-C) that started it
            )
        _children[process.pid] = process
        deadline = clock.monotonic() + timeout
        while clock.monotonic() < deadline:
            if process.poll() is not None:
                raise PlatformError(
                    f"the endpoint host exited with code {process.returncode} while starting; "
                    f"its log ({log_path}) ends with:\n{_tail(log_path)}"
                )
            record = read_host_record(home)
            if record is not None and record.pid == process.pid and live_host(home) is not None:
                return record
            clock.sleep(0.1)
        process.terminate()
        raise PlatformError(f"the endpoint host did not start within {timeout:.0f} s; see {log_path}")


def stop_host_process(home: Path, timeout: float = 10.0, clock: Clock = SYSTEM_CLOCK) -> bool:
    """Stop the recorded host process of ``home``; False when none was running.

    A host this process started is waited for; another's is polled on ``clock`` until it exits.
    """
    home = Path(home).resolve()
    record = live_host(home)
    if record is None or record.pid == os.getpid():
        return False
    os.kill(record.pid, signal.SIGTERM)
    child = _children.pop(record.pid, None)
    if child is not None:
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout)
        return True
    deadline = clock.monotonic() + timeout
    while clock.monotonic() < deadline and _pid_alive(record.pid):
        clock.sleep(0.05)
    if _pid_alive(record.pid):
        os.kill(record.pid, signal.SIGKILL)
    return True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def capture_arguments(capture: CaptureSettings) -> list[str]:
    """The ``serve-endpoints`` options that give a host process these capture settings."""
    return ["--capture-percent", str(capture.percent), "--capture-max-bytes", str(capture.max_bytes)]


def serve(
    home: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    clock: Clock = SYSTEM_CLOCK,
    capture: CaptureSettings | None = None,
) -> None:
    """Run the endpoint host in the foreground until SIGTERM or SIGINT."""
    home = Path(home).resolve()
    registry = Registry(home / "registry.db", clock)
    endpoint_host = EndpointHost(registry, home, host=host, port=port, clock=clock, capture=capture).start()
    write_host_record(home, endpoint_host, clock)
    stopping = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        log.info("endpoint host: signal %d, stopping", signum)
        stopping.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        while not stopping.wait(1.0):
            pass
    finally:
        remove_host_record(home, endpoint_host)
        endpoint_host.stop()
        registry.close()
