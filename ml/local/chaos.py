"""The chaos switch, a testing tool: make the endpoint host fail or slow down a model version on purpose.

``python -m ml.local chaos --home H --version 2 --error-rate 0.5 [--latency-ms 300]`` and ``--off``.
The settings live in ``home/chaos.json`` (written whole, atomically)::

    {"versions": {"2": {"error_rate": 0.5, "latency_ms": 300}}}

The endpoint host reads the file again whenever it changes, in process or as its own process, with no
restart. Failures are deterministic: an accumulator adds the rate on every invocation of the version and
fails the invocation each time it reaches 1 (0.5 fails exactly every second request, 0.1 every tenth).
A failure is answered as the container's 500, so callers get SageMaker's ``ModelError`` (424) and the
host counts it in ``Invocation5XXErrors``.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ml.platform import InvalidRequest

CHAOS_FILE = "chaos.json"
MAX_LATENCY_MS = 60_000
FAILURE_MESSAGE = "chaos switch: injected failure of v{version} (error rate {rate:g})"


@dataclass(frozen=True)
class Chaos:
    """What the switch does to one version."""

    error_rate: float = 0.0
    latency_ms: int = 0


def read_chaos(home: Path) -> dict[int, Chaos]:
    """Every version's settings (no file: none); raises InvalidRequest on a file that is not ours."""
    path = Path(home) / CHAOS_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise InvalidRequest(f"{path} is not readable JSON: {exc}") from None
    versions = data.get("versions") if isinstance(data, dict) else None
    if not isinstance(versions, dict):
        raise InvalidRequest(f'{path} must hold {{"versions": {{...}}}}')
    out: dict[int, Chaos] = {}
    for key, value in versions.items():
        if str(key).isdigit() and isinstance(value, dict):
            out[int(key)] = Chaos(float(value.get("error_rate", 0)), int(value.get("latency_ms", 0)))
    return out


def check(error_rate: float, latency_ms: int) -> None:
    """Refuse settings out of range, saying which are allowed."""
    if not 0 <= error_rate <= 1:
        raise InvalidRequest(
            f"the error rate is a fraction from 0 to 1 (0.5: every second request), not {error_rate:g}"
        )
    if not 0 <= latency_ms <= MAX_LATENCY_MS:
        raise InvalidRequest(f"the added latency is 0 to {MAX_LATENCY_MS} ms, not {latency_ms}")
    if error_rate == 0 and latency_ms == 0:
        raise InvalidRequest("give --error-rate and/or --latency-ms above 0, or --off to turn chaos off")


def set_chaos(
    home: Path,
    version: int,
    *,
    error_rate: float,
    latency_ms: int,
    version_exists: Callable[[int], bool],
) -> Chaos:
    """Make ``version`` fail ``error_rate`` of its invocations and answer ``latency_ms`` later."""
    check(error_rate, latency_ms)
    if not version_exists(version):
        raise InvalidRequest(f"v{version} is not a registered version of this home")
    settings = read_chaos(home)
    settings[version] = Chaos(error_rate, latency_ms)
    _write(home, settings)
    return settings[version]


def clear_chaos(home: Path, version: int | None = None) -> list[int]:
    """Turn chaos off for ``version`` (None: every version); the versions it was on for."""
    settings = read_chaos(home)
    cleared = sorted(settings) if version is None else [v for v in settings if v == version]
    _write(home, {v: c for v, c in settings.items() if v not in cleared})
    return cleared


def _write(home: Path, settings: dict[int, Chaos]) -> None:
    document = {
        "versions": {
            str(v): {"error_rate": c.error_rate, "latency_ms": c.latency_ms}
            for v, c in sorted(settings.items())
        }
    }
    path = Path(home) / CHAOS_FILE
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(document, indent=2) + "\n")
    os.replace(tmp, path)


class ChaosSwitch:
    """The host's view of ``chaos.json``: re-read when the file changes; one accumulator per version."""

    def __init__(self, home: Path) -> None:
        self._path = Path(home) / CHAOS_FILE
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._settings: dict[int, Chaos] = {}
        self._accumulated: dict[int, float] = {}

    def decide(self, version: int) -> tuple[bool, int]:
        """For one invocation of ``version``: whether it fails, and the latency to add (ms)."""
        stamp = self._file_stamp()  # outside the lock: invocations do not queue behind a stat call
        with self._lock:
            if stamp != self._stamp:
                self._reload(stamp)
            chaos = self._settings.get(version)
            if chaos is None:
                return False, 0
            total = self._accumulated.get(version, 0.0) + chaos.error_rate
            fail = total >= 1 - 1e-9
            self._accumulated[version] = total - 1 if fail else total
            return fail, chaos.latency_ms

    def rate(self, version: int) -> float:
        with self._lock:
            chaos = self._settings.get(version)
            return chaos.error_rate if chaos is not None else 0.0

    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            stat = os.stat(self._path)
        except FileNotFoundError:
            return None
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def _reload(self, stamp: tuple[int, int, int] | None) -> None:
        if stamp == self._stamp:  # another invocation has read this very file meanwhile
            return
        try:
            settings = read_chaos(self._path.parent)
        except InvalidRequest:
            return  # a half-edited file: keep the last good settings
        self._stamp = stamp
        if settings != self._settings:
            self._accumulated = {}
        self._settings = settings
