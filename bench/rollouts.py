"""Progressive delivery: how soon a rollback puts all traffic back, what it costs in AWS calls, and
whether any request fails while traffic moves.

    python -m bench.rollouts [--quick]

On the local platform (endpoint host in process, as the chat and the servers run it), with two trained
versions, each round is a promote of v2 over v1 then a rollback click (``ReleaseService.rollback``):
once with the warm standby on (the rollback is a weight shift) and once with it off (v1 is loaded
again). The time runs from the click until the platform has confirmed that the endpoint host routes
all traffic to v1 (its ``rollback`` returned); production must then answer ten requests in a row from
v1 (that time is reported too). A client in its own process (users' traffic does not share the bot's
interpreter) invokes production throughout, and every failed request is counted by phase (the
rollbacks, and a canary promote ``canary 50% 1s bake 1s``).
On SageMaker (moto, with the test suite's extensions that keep endpoint state), the AWS calls of one
instant rollback are counted with a botocore ``before-call`` hook.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import machine
from bench.release_local import ALICE, BOB, CAROL, ROW, RUNS, _wait

GOAL_WARM_RATIO = 0.05
GOAL_AWS_CALLS = 3
CANARY = "canary 50% 1s bake 1s"
#: requests in a row from the target version that count as all of the traffic
CONFIRM = 10


PHASES = ("idle", "promote", "rollback", "canary")


def _send_until_stopped(
    host: str, port: int, path: str, phase: Any, counts: Any, stop: Any
) -> None:  # pragma: no cover - runs in the client's own process
    conn = http.client.HTTPConnection(host, port, timeout=30)
    while not stop.is_set():
        index = phase.value
        try:
            conn.request("POST", path, body=ROW, headers={"Content-Type": "text/csv"})
            resp = conn.getresponse()
            resp.read()
            failed = resp.status != 200
        except OSError:
            failed = True
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=30)
        with counts.get_lock():
            counts[index * 2 + int(failed)] += 1
    conn.close()


class Traffic:
    """A client invoking production without pause from its own process (users' traffic does not share
    the bot's interpreter), counting answers and failures per phase."""

    def __init__(self, url: str, endpoint: str) -> None:
        host, port = url.split("//", 1)[1].split(":")
        # fork: the child only sends HTTP, and spawn would leave a semaphore tracker process behind
        context = multiprocessing.get_context("fork")
        self._phase = context.Value("i", 0)
        self._counts = context.Array("q", len(PHASES) * 2)
        self._stop = context.Event()
        self._process = context.Process(
            target=_send_until_stopped,
            args=(
                host,
                int(port),
                f"/endpoints/{endpoint}/invocations",
                self._phase,
                self._counts,
                self._stop,
            ),
            daemon=True,
        )

    @property
    def phase(self) -> str:
        return PHASES[self._phase.value]

    @phase.setter
    def phase(self, name: str) -> None:
        self._phase.value = PHASES.index(name)

    def __enter__(self) -> Traffic:
        self._process.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._process.join(30)

    def failed(self, phase: str) -> int:
        return int(self._counts[PHASES.index(phase) * 2 + 1])

    def total(self, phase: str) -> int:
        at = PHASES.index(phase) * 2
        return int(self._counts[at] + self._counts[at + 1])


def _until_all_on(url: str, endpoint: str, version: int, limit_s: float = 60.0) -> float:
    """perf_counter() of the first of ``CONFIRM`` answers in a row from ``version``."""
    host, port = url.split("//", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    path = f"/endpoints/{endpoint}/invocations"
    streak, first = 0, 0.0
    deadline = time.perf_counter() + limit_s
    try:
        while streak < CONFIRM:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"production did not settle on v{version} within {limit_s:.0f} s")
            sent = time.perf_counter()
            conn.request("POST", path, body=ROW, headers={"Content-Type": "text/csv"})
            resp = conn.getresponse()
            resp.read()
            if resp.status == 200 and resp.getheader("X-Model-Version") == str(version):
                streak, first = streak + 1, first if streak else sent
            else:
                streak = 0
    finally:
        conn.close()
    return first


def _arm(home: Path, versions: tuple[int, int], rounds: int, *, warm: bool, canary: bool) -> dict[str, Any]:
    """``rounds`` promote-then-rollback rounds on ``home``; the rollbacks timed."""
    from datetime import timedelta

    from bot.core.service import ReleaseService
    from bot.store.sqlite import SQLiteStore
    from ml.local import LocalPlatform
    from ml.rollout_policy import parse_rollout

    v1, v2 = versions
    platform = LocalPlatform(
        home, host_endpoints_in_process=True, warm_rollback=timedelta(minutes=30) if warm else None
    )
    release = ReleaseService(platform, SQLiteStore(home / "bot.db"))
    name, url = platform.endpoint_name("production"), platform.endpoint_url
    confirmed: list[float] = []
    platform_rollback = platform.rollback

    def rollback_and_mark(*args: Any, **kwargs: Any) -> Any:
        done = platform_rollback(*args, **kwargs)  # returns once the host serves the new weights
        confirmed.append(time.perf_counter())
        return done

    platform.rollback = rollback_and_mark  # type: ignore[method-assign]
    times: list[float] = []
    settle: list[float] = []
    paths: list[bool] = []
    try:
        with Traffic(url, name) as traffic:
            for _ in range(rounds):
                traffic.phase = "promote"
                assert release.promote(CAROL, v2).ok
                paths.append(platform.rollback_path("production", v1).warm)
                traffic.phase = "rollback"
                clicked = time.perf_counter()
                result = release.rollback(CAROL, "production")
                assert result.ok, result.message
                times.append(confirmed[-1] - clicked)
                # what the platform confirmed, the traffic shows: ten answers in a row from v1
                settle.append(_until_all_on(url, name, v1) - clicked)
                traffic.phase = "idle"
            if canary:
                traffic.phase = "canary"
                result = release.promote(CAROL, v2, rollout=parse_rollout(CANARY))
                assert result.ok, result.message
                traffic.phase = "idle"
        report: dict[str, Any] = {
            "rollback_ms": [t * 1000 for t in times],
            "all_answers_from_v1_ms": [t * 1000 for t in settle],
            "median_ms": statistics.median(times) * 1000,
            "warm_paths": sum(paths),
            "requests": {phase: traffic.total(phase) for phase in ("promote", "rollback", "canary")},
            "failed": {phase: traffic.failed(phase) for phase in ("promote", "rollback", "canary")},
        }
    finally:
        platform.close()
    return report


def _train(home: Path, runs: tuple[dict[str, str], dict[str, str]]) -> tuple[int, int]:
    from bot.core.service import ReleaseService
    from bot.store.sqlite import SQLiteStore
    from ml.local import LocalPlatform

    platform = LocalPlatform(home, host_endpoints_in_process=True)
    release = ReleaseService(platform, SQLiteStore(home / "bot.db"))
    try:
        v1 = _wait(release, str(release.train(ALICE, runs[0]).data["execution_id"]))
        assert release.approve(BOB, v1).ok
        assert release.promote(CAROL, v1).ok
        v2 = _wait(release, str(release.train(ALICE, runs[1]).data["execution_id"]))
        assert release.approve(BOB, v2).ok  # deployed to staging and validated: promotable
    finally:
        platform.close()
    return v1, v2


def aws_calls_per_instant_rollback() -> dict[str, Any]:
    """The calls of one warm rollback on SageMaker, under moto (in process, nothing leaves the machine)."""
    import os

    from moto import mock_aws

    from ml.clock import Clock
    from ml.rollout_policy import parse_rollout
    from ml.sagemaker import SageMakerConfig, SageMakerPlatform
    from ml.sagemaker.clients import aws_session
    from tests.ml.sagemaker import moto_sagemaker

    for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        os.environ.setdefault(key, value)
    moto_sagemaker.install()
    role = "arn:aws:iam::123456789012:role/mlops-sagemaker"
    with mock_aws():
        session = aws_session("us-east-1")
        sm, s3 = session.client("sagemaker"), session.client("s3")
        moto_sagemaker.create_pipeline(sm, "mlops-pipeline", role)
        config = SageMakerConfig(
            region="us-east-1",
            pipeline_name="mlops-pipeline",
            model_package_group="mlops-xgboost",
            execution_role_arn=role,
            endpoint_names={"staging": "mlops-xgboost-staging", "production": "mlops-xgboost-production"},
            rollouts={"staging": parse_rollout("all-at-once"), "production": parse_rollout("all-at-once")},
            warm_rollback_seconds=1800,
        )
        offset = [0.0]  # configs are named to the second: the second promote happens a second later
        clock = Clock(wall=lambda: time.time() + offset[0])
        platform = SageMakerPlatform(config, session, clock=clock)
        try:
            group = config.model_package_group
            v1, v2 = (
                moto_sagemaker.register_model_package(sm, s3, group, approval_status="Approved").version
                for _ in range(2)
            )
            platform.deploy("production", v1, "bench")
            offset[0] += 1
            platform.deploy("production", v2, "bench")
            calls: list[str] = []
            for service in ("sagemaker", "cloudwatch", "application-autoscaling", "s3", "sts"):
                platform.aws.client(service).meta.events.register(
                    "before-call", lambda model, **_: calls.append(model.name)
                )
            warm = platform.rollback_path("production", v1).warm
            calls.clear()  # the confirmation's look is not the rollback
            platform.rollback("production", v1, "bench")
            made = list(calls)
            serving = platform.describe_endpoint("production").version
        finally:
            platform.close()
    return {"calls": made, "count": len(made), "warm": warm, "serving_after": serving}


def run(
    *,
    quick: bool = False,
    rounds: int | None = None,
    runs: tuple[dict[str, str], dict[str, str]] = RUNS,
) -> dict[str, Any]:
    """``rounds`` promote-and-rollback rounds each way; ``runs`` are the two trainings' parameters."""
    rounds = rounds or (2 if quick else 5)
    with tempfile.TemporaryDirectory(prefix="mlops-bench-rollouts-") as tmp:
        home = Path(tmp)
        versions = _train(home, runs)
        redeploy = _arm(home, versions, rounds, warm=False, canary=False)
        warm = _arm(home, versions, rounds, warm=True, canary=True)
    aws = aws_calls_per_instant_rollback()
    ratio = warm["median_ms"] / redeploy["median_ms"]
    failed = {
        "canary": warm["failed"]["canary"],
        "rollback": warm["failed"]["rollback"] + redeploy["failed"]["rollback"],
    }
    return {
        "machine": machine(),
        "rounds": rounds,
        "warm": warm,
        "redeploy": redeploy,
        "ratio": ratio,
        "goal_ratio": GOAL_WARM_RATIO,
        "met": ratio <= GOAL_WARM_RATIO,
        "aws": {**aws, "goal": GOAL_AWS_CALLS, "met": aws["warm"] and aws["count"] <= GOAL_AWS_CALLS},
        "failed": failed,
        "failed_met": failed["canary"] == 0 and failed["rollback"] == 0,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.rollouts")
    parser.add_argument("--quick", action="store_true")
    json.dump(run(quick=parser.parse_args().quick), sys.stdout, indent=2)
    print()
