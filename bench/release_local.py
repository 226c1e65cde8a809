"""End-to-end local release time, and endpoint serving overhead against in-process predict.

    python -m bench.release_local

Release: train -> approve (staging deploy + validation) -> promote -> second run ->
approve -> promote -> rollback, through the release core on a fresh MLOPS_HOME.
Serving: single-row requests at concurrency 8 over HTTP to the local endpoint host, which runs in its
own process as ``LocalPlatform`` starts it (this process is only the client), side by side with the same
rows scored by the same Scorer in this process: same row, same concurrency, same count.
"""

from __future__ import annotations

import asyncio
import json
import os
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
#: Serving goals: the endpoint's p50 and throughput against ``Scorer.predict`` in process.
GOAL_P50_RATIO = 1.5
GOAL_THROUGHPUT_RATIO = 0.7
CLIENT_BUDGET_S = 120.0
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


def _request(host: str, path: str) -> bytes:
    """One complete HTTP/1.1 invocation, built before the clock starts."""
    head = [
        f"POST {path} HTTP/1.1",
        f"host: {host}",
        "content-type: text/csv",
        f"content-length: {len(ROW)}",
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + ROW


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> bytes:
    """Send one request on a kept-alive connection; the body of its 200 answer."""
    writer.write(request)
    await writer.drain()
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    length = 0
    for line in head[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == "content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    status = int(head[0].split(" ", 2)[1])
    if status != 200:
        raise RuntimeError(f"HTTP {status}: {body[:200]!r}")
    return body


async def _http_load(url: str, path: str, count: int, concurrency: int) -> tuple[list[float], float, bytes]:
    """Closed loop: ``concurrency`` kept-alive connections, each sending its next request when answered.

    Raw HTTP on asyncio streams: the client's own CPU (which shares the cores with the host) stays far
    below an HTTP client library's. Returns the latencies (ms), the wall time and one answer.
    """
    host = url.removeprefix("http://")
    address, port = host.rsplit(":", 1)
    request = _request(host, path)
    latencies: list[float] = []
    answers: list[bytes] = []
    each = count // concurrency

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(address, int(port))
        try:
            for _ in range(each):
                t = time.perf_counter()
                answers.append(await _exchange(reader, writer, request))
                latencies.append((time.perf_counter() - t) * 1000)
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), CLIENT_BUDGET_S)
    return latencies, time.perf_counter() - t0, answers[0]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serving(home: Path, requests: int = 2000, concurrency: int = 8) -> dict[str, Any]:
    """The endpoint host in its own process, as ``LocalPlatform`` runs it, against this process as the
    client; then the same rows scored by the same model in this process, ``concurrency`` threads."""
    from ml.local import LocalPlatform
    from ml.local.host_process import read_host_record
    from ml.serving import Scorer

    platform = LocalPlatform(home)
    try:
        endpoint = platform.describe_endpoint("production")
        url = platform.endpoint_url  # starts the host process
        model_dir = Path(
            platform.describe_model_package(endpoint.version or 1).artifact_uri.removeprefix("file://")
        )
        scorer = Scorer.load(model_dir if model_dir.is_dir() else model_dir.parent)
        path = f"/endpoints/{endpoint.name}/invocations"
        expected, _ = scorer.predict(ROW, "text/csv")

        def inproc_worker(n: int) -> list[float]:
            out = []
            for _ in range(n):
                t = time.perf_counter()
                scorer.predict(ROW, "text/csv")
                out.append((time.perf_counter() - t) * 1000)
            return out

        results: dict[str, Any] = {"host": "own process", "client": "this process, asyncio raw HTTP/1.1"}
        asyncio.run(_http_load(url, path, min(requests, 50 * concurrency), concurrency))  # warm up
        host_pid = read_host_record(home).pid  # type: ignore[union-attr]  # the host answered: it runs
        host_cpu, own_cpu = _cpu_seconds(host_pid), time.process_time()
        lat, wall, answer = asyncio.run(_http_load(url, path, requests, concurrency))
        host_cpu, own_cpu = _cpu_seconds(host_pid) - host_cpu, time.process_time() - own_cpu
        if answer != expected:
            raise RuntimeError(f"the endpoint answered {answer!r}, in process {expected!r}")
        results["endpoint_http"] = {
            **latency_summary(lat),
            "throughput_rps": len(lat) / wall,
            # CPU per request, robust to other work on a shared machine (which moves the wall times)
            "host_cpu_ms_per_request": host_cpu * 1000 / len(lat),
            "client_cpu_ms_per_request": own_cpu * 1000 / len(lat),
        }
        inproc_worker(50)  # warm up
        own_cpu, t = time.process_time(), time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            chunks = pool.map(inproc_worker, [requests // concurrency] * concurrency)
            lat = [x for chunk in chunks for x in chunk]
        wall = time.perf_counter() - t
        results["in_process"] = {
            **latency_summary(lat),
            "throughput_rps": len(lat) / wall,
            "cpu_ms_per_request": (time.process_time() - own_cpu) * 1000 / len(lat),
        }
        results["overhead_p50_ratio"] = results["endpoint_http"]["p50_ms"] / results["in_process"]["p50_ms"]
        results["throughput_ratio"] = (
            results["endpoint_http"]["throughput_rps"] / results["in_process"]["throughput_rps"]
        )
        results["goal_p50_ratio"] = GOAL_P50_RATIO
        results["goal_throughput_ratio"] = GOAL_THROUGHPUT_RATIO
        return results
    finally:
        platform.stop_endpoint_host()
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
