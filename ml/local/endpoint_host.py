"""The local endpoint host: serves the deployed model versions over HTTP, like SageMaker hosting.

One HTTP server on 127.0.0.1 (``ml.local.runtime_api``) serves every endpoint of a platform home, each
through its models' containers (``ml.local.container``: the XGBoost image's script or algorithm mode).

An endpoint serves one or more weighted production variants (``registry.variants``; none recorded: its
one version as ``AllTraffic``). Each invocation goes to a variant by weight (``routing``), may be failed
or slowed on purpose (``chaos``), and is counted for that variant (``variant_metrics``).

The host follows the state database: a background thread polls the endpoints table every 200 ms, and a
nudge (``sync``, or ``POST /sync`` to a host process) makes it look at once. A switch starts any new
container completely, then swaps one reference under a lock, so requests in flight finish where they
started and none fails during a deploy, a weight change or a rollback. A weight change loads nothing.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ml.clock import SYSTEM_CLOCK, Clock

from .capture import CaptureSettings, CaptureWriter, capture_root
from .chaos import FAILURE_MESSAGE, ChaosSwitch
from .container import Container, load_container
from .events import ACCOUNT, REGION
from .registry import EndpointRow, Registry
from .routing import WeightedRouter
from .runtime_answers import INVOCATION_TIMEOUT_S, VARIANT, Answer, model_error
from .runtime_api import RuntimeServer
from .variant_metrics import VariantMetrics

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 0.2


@dataclass(frozen=True)
class Variant:
    """One loaded production variant of an endpoint."""

    name: str
    version: int
    model_dir: str
    container: Container
    loaded_at: datetime
    weight: int
    role: str
    counted_since: str


@dataclass(frozen=True)
class Served:
    """One endpoint's live variants; replaced whole, never mutated, so readers need no lock."""

    variants: tuple[Variant, ...]
    router: WeightedRouter

    @property
    def primary(self) -> Variant:
        """The variant with the most traffic (the first of equals)."""
        return max(self.variants, key=lambda v: v.weight)

    @property
    def version(self) -> int:
        return self.primary.version

    @property
    def model_dir(self) -> str:
        return self.primary.model_dir

    @property
    def container(self) -> Container:
        return self.primary.container

    @property
    def loaded_at(self) -> datetime:
        return self.primary.loaded_at

    def pick(self) -> Variant:
        return self.variants[self.router.pick()]


@dataclass(frozen=True)
class LoadFailure:
    generation: int
    version: int
    message: str


#: (name, version, model dir, weight, role, counted since) of one wanted variant
Wanted = tuple[str, int, str, int, str, str]


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
        delay: Callable[[float], None] = time.sleep,
    ) -> None:
        """``clock`` stamps each load and each captured invocation and times the metrics' window; the
        poll interval is real time (the database changes in real time). ``capture``: data capture below
        ``home/capture`` (None, 0 %: off). ``delay``: how the chaos switch's added latency is waited."""
        self.registry = registry
        self._clock = clock
        self._delay = delay
        self.home = Path(home).resolve()
        self._served: dict[str, Served] = {}
        self._failures: dict[str, LoadFailure] = {}
        self._metrics: dict[tuple[str, str], tuple[str, VariantMetrics]] = {}
        self.chaos = ChaosSwitch(self.home)
        #: models loaded since start (a weight change loads none)
        self.loads = 0
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
            (host, port), self, invocation_timeout=invocation_timeout, capture=self.capture, router=self
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
        for target, name in ((self._server.serve_forever, "http"), (self._poll, "sync")):
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
                "variants": [self._variant_status(name, v) for v in served.variants] if served else [],
                "error": (
                    {"generation": failure.generation, "version": failure.version, "message": failure.message}
                    if failure
                    else None
                ),
            }
        return {"home": str(self.home), "pid": os.getpid(), "url": self.url, "endpoints": endpoints}

    def _variant_status(self, endpoint: str, variant: Variant) -> dict[str, Any]:
        counted = self._metrics.get((endpoint, variant.name))
        metrics = counted[1] if counted is not None else VariantMetrics(self._clock.wall)
        return {
            "name": variant.name,
            "version": variant.version,
            "model_dir": variant.model_dir,
            "weight": variant.weight,
            "role": variant.role,
            "loaded_at": variant.loaded_at.isoformat(),
            "counted_since": variant.counted_since,
            "total": metrics.total().to_dict(),
            "window": metrics.window().to_dict(),
        }

    def set_model(self, name: str, version: int, model_dir: str) -> None:
        """Load ``model_dir`` fully, then make ``name`` serve it alone; raises if it does not load."""
        self._swap(name, [(VARIANT, version, model_dir, 100, "new", "")])

    def invoke(self, name: str, call: Callable[[Container, str], Answer]) -> tuple[Answer, int] | None:
        """One runtime invocation of ``name``: pick a variant by weight, apply chaos, answer, count it.

        None when ``name`` is not served. Returns the answer and the version that gave it.
        """
        served = self._served.get(name)
        if served is None:
            return None
        variant = served.pick()
        fail, delay_ms = self.chaos.decide(variant.version)
        if delay_ms:
            self._delay(delay_ms / 1000)
        # Model latency is real time; the window's clock is the wall clock (monotonic readings are the
        # platform's own timers, and a reading per invocation would move a test's ticking timer).
        started = time.perf_counter()
        if fail:
            rate = self.chaos.rate(variant.version)
            message = FAILURE_MESSAGE.format(version=variant.version, rate=rate)
            answer = model_error(name, 500, message, region=self.region, account=self.account)
        else:
            answer = call(variant.container, variant.name)
        latency_ms = (time.perf_counter() - started) * 1000 + delay_ms
        counted = self._metrics.get((name, variant.name))
        if counted is not None:
            counted[1].record(latency_ms, failed=answer.status != 200)
        return answer, variant.version

    def _wanted(self, row: EndpointRow) -> list[Wanted]:
        variants = self.registry.variants(row.name)
        if variants:
            return [
                (v.name, v.version, v.model_dir, v.weight, v.role, v.counted_since.isoformat())
                for v in variants
            ]
        version, model_dir = row.desired
        if version is None or model_dir is None:
            return []
        return [(VARIANT, version, model_dir, 100, "new", "")]

    def _swap(self, name: str, wanted: list[Wanted]) -> None:
        """Load what ``wanted`` needs that is not loaded, then serve it; raises if a model does not load."""
        current = self._served.get(name)
        loaded = {(v.version, v.model_dir): v for v in current.variants} if current else {}
        variants = []
        for variant_name, version, model_dir, weight, role, since in wanted:
            have = loaded.get((version, model_dir))
            if have is None:
                container, loaded_at = load_container(Path(model_dir)), self._clock.now()
                self.loads += 1
            else:
                container, loaded_at = have.container, have.loaded_at
            variants.append(
                Variant(variant_name, version, model_dir, container, loaded_at, weight, role, since)
            )
        served = Served(tuple(variants), WeightedRouter([v.weight for v in variants]))
        with self._swap_lock:
            metrics = {k: m for k, m in self._metrics.items() if k[0] != name}
            for v in variants:
                kept = self._metrics.get((name, v.name))
                since = v.counted_since or v.loaded_at.isoformat()
                if kept is None or kept[0] != since:
                    kept = (since, VariantMetrics(self._clock.wall))
                metrics[(name, v.name)] = kept
            self._metrics = metrics
            self._served = {**self._served, name: served}
        shown = ", ".join(f"{v.name} (v{v.version}) {v.weight}%" for v in variants)
        log.info("endpoint %s now serves %s", name, shown)

    def sync(self) -> None:
        """Load whatever the database says each endpoint should serve and is not served yet."""
        with self._sync_lock:
            for row in self.registry.list_endpoints():
                wanted = self._wanted(row)
                if not wanted:
                    continue
                current = self._served.get(row.name)
                if (
                    current is not None
                    and [
                        (v.name, v.version, v.model_dir, v.weight, v.role, v.counted_since)
                        for v in current.variants
                    ]
                    == wanted
                ):
                    continue
                loaded = {(v.version, v.model_dir) for v in current.variants} if current else set()
                missing = [w[1] for w in wanted if (w[1], w[2]) not in loaded]
                failure = self._failures.get(row.name)
                if (
                    failure is not None
                    and failure.generation == row.generation
                    and failure.version in missing
                ):
                    continue  # already failed for this very change: wait for the next one
                try:
                    self._swap(row.name, wanted)
                except Exception as exc:
                    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                    version = missing[0] if missing else wanted[0][1]
                    log.exception("endpoint %s cannot load v%d", row.name, version)
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
