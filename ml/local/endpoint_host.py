"""The local endpoint host: serves the deployed model versions over HTTP, like SageMaker hosting.

One HTTP server on 127.0.0.1 (``ml.local.runtime_api``) serves every endpoint of a platform home, each
through its model's container (``ml.local.container``: the XGBoost image's script or algorithm mode).

The host follows the state database: a background thread polls the endpoints table every 200 ms and
loads what it should serve. A switch starts the new model's container completely, then swaps one
reference under a lock, so requests in flight finish on the old model and none fails during a deploy
or rollback.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ml.clock import SYSTEM_CLOCK, Clock

from .capture import CaptureSettings, CaptureWriter, capture_root
from .container import Container, load_container
from .events import ACCOUNT, REGION
from .registry import Registry
from .runtime_api import INVOCATION_TIMEOUT_S, RuntimeServer

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 0.2


@dataclass(frozen=True)
class Served:
    """One endpoint's live model; replaced whole, never mutated, so readers need no lock."""

    version: int
    model_dir: str
    container: Container
    loaded_at: datetime


@dataclass(frozen=True)
class LoadFailure:
    generation: int
    version: int
    message: str


class EndpointHost:
    """Serves the endpoints recorded in ``registry`` on ``host:port`` (port 0: any free port)."""

    def __init__(
        self,
        registry: Registry,
        home: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        poll_interval: float = POLL_INTERVAL_S,
        invocation_timeout: float = INVOCATION_TIMEOUT_S,
        clock: Clock = SYSTEM_CLOCK,
        capture: CaptureSettings | None = None,
    ) -> None:
        """``clock`` stamps each load and each captured invocation; the poll interval is real time (the
        database changes in real time). ``capture``: data capture below ``home/capture`` (None, 0 %: off)."""
        self.registry = registry
        self._clock = clock
        self.home = Path(home).resolve()
        self._served: dict[str, Served] = {}
        self._failures: dict[str, LoadFailure] = {}
        self._swap_lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._stop = threading.Event()
        self._poll_interval = poll_interval
        self._last_seen: list[tuple[str, int]] | None = None
        self._bind_host = host
        self.region, self.account = REGION, ACCOUNT
        #: the data capture writer (None when capture is off)
        self.capture = (
            CaptureWriter(capture_root(self.home), capture, clock=clock)
            if capture is not None and capture.percent > 0
            else None
        )
        self._server = RuntimeServer(
            (host, port), self, invocation_timeout=invocation_timeout, capture=self.capture
        )
        self._threads: list[threading.Thread] = []

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._bind_host}:{self.port}"

    def start(self) -> EndpointHost:
        self.sync()
        # A short poll interval lets stop() return at once instead of after up to 0.5 s.
        serve = functools.partial(self._server.serve_forever, poll_interval=0.05)
        for target, name in ((serve, "http"), (self._poll, "sync")):
            thread = threading.Thread(target=target, name=f"ml-local-endpoints-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("endpoint host for %s listening on %s", self.home, self.url)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        if self.capture is not None:
            self.capture.close()

    # -- serving state ---------------------------------------------------------------------------

    def serving(self, name: str) -> Served | None:
        return self._served.get(name)

    def served_names(self) -> list[str]:
        return sorted(self._served)

    def status(self) -> dict[str, Any]:
        served_now, failures_now = self._served, self._failures
        endpoints: dict[str, Any] = {}
        for name in sorted(set(served_now) | set(failures_now)):
            served = served_now.get(name)
            failure = failures_now.get(name)
            endpoints[name] = {
                "version": served.version if served else None,
                "model_dir": served.model_dir if served else None,
                "mode": served.container.mode if served else None,
                "loaded_at": served.loaded_at.isoformat() if served else None,
                "error": (
                    {"generation": failure.generation, "version": failure.version, "message": failure.message}
                    if failure
                    else None
                ),
            }
        return {"home": str(self.home), "pid": os.getpid(), "url": self.url, "endpoints": endpoints}

    def set_model(self, name: str, version: int, model_dir: str) -> None:
        """Load ``model_dir`` fully, then make ``name`` serve it; raises if it does not load."""
        container = load_container(Path(model_dir))
        served = Served(
            version=version, model_dir=model_dir, container=container, loaded_at=self._clock.now()
        )
        with self._swap_lock:
            self._served = {**self._served, name: served}
        log.info("endpoint %s now serves v%d from %s", name, version, model_dir)

    def sync(self) -> None:
        """Load whatever the database says each endpoint should serve and is not served yet."""
        with self._sync_lock:
            for row in self.registry.list_endpoints():
                version, model_dir = row.desired
                if version is None or model_dir is None:
                    continue
                current = self._served.get(row.name)
                if current is not None and current.version == version and current.model_dir == model_dir:
                    continue
                failure = self._failures.get(row.name)
                if (
                    failure is not None
                    and failure.generation == row.generation
                    and failure.version == version
                ):
                    continue  # already failed for this very change: wait for the next one
                try:
                    self.set_model(row.name, version, model_dir)
                except Exception as exc:
                    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                    log.exception("endpoint %s cannot load v%d from %s", row.name, version, model_dir)
                    # Copy-on-write, like ``_served``: status() reads these without a lock.
                    self._failures = {
                        **self._failures,
                        row.name: LoadFailure(row.generation, version, message),
                    }
                else:
                    self._failures = {n: f for n, f in self._failures.items() if n != row.name}

    def _poll(self) -> None:
        while not self._stop.wait(self._poll_interval):
            try:
                seen = self.registry.endpoint_generations()
                if seen != self._last_seen:
                    self.sync()
                    self._last_seen = seen
            except Exception:
                log.exception("endpoint host: reading the endpoint state failed; retrying")
