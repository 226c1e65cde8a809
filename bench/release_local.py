"""End-to-end local release time, and endpoint serving overhead against in-process predict.

    python -m bench.release_local

Release: train -> approve (staging deploy + validation) -> promote -> second run ->
approve -> promote -> rollback, through the release core on a fresh MLOPS_HOME.
Serving: single-row requests at concurrency 8 over HTTP to the local endpoint,
side by side with the same rows scored by the same Scorer in process.
"""

from __future__ import annotations

import http.client
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.common import latency_summary, machine
from bot.core.models import Actor, Role
from bot.core.service import ReleaseService
from bot.store.sqlite import SQLiteStore

ALICE = Actor("UALICE", "alice", frozenset({Role.TRAINER}))
BOB = Actor("UBOB", "bob", frozenset({Role.APPROVER}))
CAROL = Actor("UCAROL", "carol", frozenset({Role.RELEASER, Role.ONCALL}))
ROW = (
    b"39,State-gov,77516,Bachelors,13,Never-married,Adm-clerical,Not-in-family,White,Male,2174,0,40,"
    b"United-States"
)


def _wait(release: ReleaseService, execution_id: str) -> int:
    while True:
        e = release.platform.describe_execution(execution_id)
        if e.status.terminal:
            if e.model_version is None:
                raise RuntimeError(f"run failed: {e.failure_reason}")
            return e.model_version
        time.sleep(0.05)


#: The two runs' parameters: the defaults, then a shallower model.
RUNS: tuple[dict[str, str], dict[str, str]] = ({}, {"max_depth": "4"})


def release_once(home: Path, runs: tuple[dict[str, str], dict[str, str]] = RUNS) -> dict[str, float]:
    from ml.local import LocalPlatform

    t0 = time.perf_counter()
    platform = LocalPlatform(home, host_endpoints_in_process=True)
    release = ReleaseService(platform, SQLiteStore(home / "bot.db"))
    marks: dict[str, float] = {}
    try:
        v1 = _wait(release, str(release.train(ALICE, runs[0]).data["execution_id"]))
        marks["train_v1_s"] = time.perf_counter() - t0
        assert release.approve(BOB, v1).ok
        assert release.promote(CAROL, v1).ok
        v2 = _wait(release, str(release.train(ALICE, runs[1]).data["execution_id"]))
        assert release.approve(BOB, v2).ok
        assert release.promote(CAROL, v2).ok
        assert release.rollback(CAROL, "production").ok
        assert release.serving("production") == v1
        marks["total_s"] = time.perf_counter() - t0
    finally:
        platform.close()
    return marks


def serving(home: Path, requests: int = 2000, concurrency: int = 8) -> dict[str, Any]:
    from ml.local import LocalPlatform
    from ml.serving import Scorer

    platform = LocalPlatform(home, host_endpoints_in_process=True)
    try:
        endpoint = platform.describe_endpoint("production")
        url = platform.endpoint_url
        host, port = url.split("//", 1)[1].split(":")
        model_dir = Path(
            platform.describe_model_package(endpoint.version or 1).artifact_uri.removeprefix("file://")
        )
        scorer = Scorer.load(model_dir if model_dir.is_dir() else model_dir.parent)
        path = f"/endpoints/{endpoint.name}/invocations"

        def http_worker(n: int) -> list[float]:
            conn = http.client.HTTPConnection(host, int(port), timeout=10)
            out = []
            for _ in range(n):
                t = time.perf_counter()
                conn.request("POST", path, body=ROW, headers={"Content-Type": "text/csv"})
                resp = conn.getresponse()
                body = resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"HTTP {resp.status}: {body[:200]!r}")
                out.append((time.perf_counter() - t) * 1000)
            conn.close()
            return out

        def inproc_worker(n: int) -> list[float]:
            out = []
            for _ in range(n):
                t = time.perf_counter()
                scorer.predict(ROW, "text/csv")
                out.append((time.perf_counter() - t) * 1000)
            return out

        results: dict[str, Any] = {}
        for name, worker in (("in_process", inproc_worker), ("endpoint_http", http_worker)):
            worker(50)  # warm up
            t = time.perf_counter()
            with ThreadPoolExecutor(concurrency) as pool:
                chunks = pool.map(worker, [requests // concurrency] * concurrency)
                lat = [x for chunk in chunks for x in chunk]
            wall = time.perf_counter() - t
            results[name] = {**latency_summary(lat), "throughput_rps": len(lat) / wall}
        results["overhead_p50_ratio"] = results["endpoint_http"]["p50_ms"] / results["in_process"]["p50_ms"]
        results["throughput_ratio"] = (
            results["endpoint_http"]["throughput_rps"] / results["in_process"]["throughput_rps"]
        )
        return results
    finally:
        platform.close()


def run(*, requests: int = 2000, runs: tuple[dict[str, str], dict[str, str]] = RUNS) -> dict[str, Any]:
    """``requests`` single-row requests each way for serving; ``runs`` are the two runs' parameters."""
    with tempfile.TemporaryDirectory(prefix="mlops-bench-") as tmp:
        home = Path(tmp)
        release = release_once(home, runs)
        serve = serving(home, requests)
    return {
        "machine": machine(),
        "release": {
            **release,
            "goal_s": 60.0,
            "seed_sagemaker_release_s": 40 * 60,
            "ratio_vs_sagemaker": release["total_s"] / (40 * 60),
        },
        "serving": serve,
    }


if __name__ == "__main__":
    json.dump(run(), sys.stdout, indent=2)
    print()
