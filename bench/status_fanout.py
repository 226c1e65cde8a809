"""``/mlops status`` on SageMaker when every AWS call takes 50 ms: fan-out against the same calls in series.

    python -m bench.status_fanout [--quick]

moto answers in process (200 model versions with S3 metrics, 10 endpoints, 5 pipeline runs) and a
botocore ``before-call`` hook sleeps before every call, which stands in for the network round trip.
``ReleaseService.status()`` is timed cold (a fresh platform: no in-process cache) with the bot's store
holding every version's facts, as the bot writes them on each version's state-change event; cold
with a store that has seen no version (every shown version described and its metrics read); and warm
(the same platform again). Side by side, in the same run: one AWS call on its own, and the very calls
the status made (recorded as they were issued) replayed one after another.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
from botocore import xform_name

from bench.common import machine

REGION = "us-east-1"
#: Ours are the first two (staging, production); the rest belong to other teams in the account.
ENDPOINT_COUNT = 10
#: the goal of each phase, as a ratio to one AWS call (None: reported, no goal)
GOALS: dict[str, float | None] = {"cold": 2.0, "cold_unseen": None, "warm": 1.5}


@dataclass(frozen=True)
class RecordedCall:
    service: str
    operation: str
    params: dict[str, Any]


class AwsDelay:
    """Sleeps before every AWS call made by a session's clients, and records the calls made."""

    def __init__(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"delay must be >= 0 seconds, got {seconds}")
        self.seconds = seconds
        self._lock = threading.Lock()
        self._calls: list[RecordedCall] = []

    def install(self, session: boto3.Session) -> None:
        """Register on the session; only clients created afterwards see it."""
        session.events.register("before-parameter-build", self._record)
        session.events.register("before-call", self._sleep)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        call = RecordedCall(model.service_model.service_name, model.name, copy.deepcopy(params))
        with self._lock:
            self._calls.append(call)

    def _sleep(self, **_: Any) -> None:
        # Returning None lets the call go on; a value would short-circuit it.
        time.sleep(self.seconds)

    def take(self) -> list[RecordedCall]:
        """The calls recorded since the last take, in issue order."""
        with self._lock:
            calls, self._calls = self._calls, []
        return calls


@contextmanager
def _fake_aws() -> Iterator[None]:
    """moto in process, with fake credentials and nothing that could reach a real account."""
    from moto import mock_aws

    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    with mock.patch.dict(os.environ, env):
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER", "AWS_SESSION_TOKEN"):
            os.environ.pop(name, None)
        with mock_aws():
            yield


def _seed(versions: int, executions: int) -> None:
    """The account as the status sees it: versions with metrics in S3, endpoints, pipeline runs."""
    from ml.sagemaker.naming import config_name
    from tests.ml.sagemaker import moto_sagemaker
    from tests.ml.sagemaker.conftest import ENDPOINTS, GROUP, PIPELINE, ROLE_ARN

    session = boto3.Session(region_name=REGION)
    sm, s3 = session.client("sagemaker"), session.client("s3")
    for i in range(versions):
        status = "Approved" if i % 3 == 0 else "PendingManualApproval"
        moto_sagemaker.register_model_package(
            sm, s3, GROUP, approval_status=status, accuracy=0.8 + i / 10_000
        )
    names = [ENDPOINTS["staging"], ENDPOINTS["production"]]
    names += [f"other-team-endpoint-{i}" for i in range(ENDPOINT_COUNT - len(names))]
    at = datetime(2026, 1, 1, tzinfo=UTC)
    for i, endpoint in enumerate(names):
        name = config_name(endpoint, max(1, versions - i), at)
        sm.create_model(
            ModelName=name,
            ExecutionRoleArn=ROLE_ARN,
            PrimaryContainer={"Image": moto_sagemaker.XGBOOST_IMAGE, "ModelDataUrl": "s3://b/model.tar.gz"},
        )
        variant = {"VariantName": "AllTraffic", "ModelName": name, "InstanceType": "ml.m5.large"}
        sm.create_endpoint_config(
            EndpointConfigName=name, ProductionVariants=[{**variant, "InitialInstanceCount": 1}]
        )
        sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=name)
    moto_sagemaker.create_pipeline(sm, PIPELINE, ROLE_ARN)
    for i in range(executions):
        sm.start_pipeline_execution(
            PipelineName=PIPELINE,
            PipelineExecutionDisplayName=f"run-{i}",
            PipelineParameters=[{"Name": "AccuracyThreshold", "Value": "0.8"}],
            ClientRequestToken=uuid.uuid4().hex,
        )


def _median_s(fn: Callable[[], object], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def _replay(clients: dict[str, Any], calls: list[RecordedCall]) -> float:
    """The same calls, one after another; returns seconds."""
    t = time.perf_counter()
    for call in calls:
        getattr(clients[call.service], xform_name(call.operation))(**call.params)
    return time.perf_counter() - t


def run(
    *,
    quick: bool = False,
    versions: int = 200,
    delay_ms: float = 50.0,
    executions: int = 5,
    cold_repeats: int | None = None,
    warm_repeats: int | None = None,
) -> dict[str, Any]:
    if versions < 1:
        raise ValueError(f"versions must be >= 1, got {versions}")
    cold_repeats = cold_repeats or (1 if quick else 3)
    warm_repeats = warm_repeats or (3 if quick else 7)
    from bot.core.records import Records
    from bot.core.service import ReleaseService
    from bot.store.sqlite import SQLiteStore
    from ml.sagemaker import SageMakerPlatform
    from tests.ml.sagemaker import moto_sagemaker
    from tests.ml.sagemaker.conftest import ENDPOINTS, make_config

    moto_sagemaker.install()
    config = make_config()
    delay = AwsDelay(delay_ms / 1000)
    with _fake_aws(), tempfile.TemporaryDirectory(prefix="mlops-bench-") as tmp:
        _seed(versions, executions)
        session = boto3.Session(region_name=REGION)
        delay.install(session)
        stores: list[SQLiteStore] = []
        platforms: list[SageMakerPlatform] = []

        def new_store() -> SQLiteStore:
            stores.append(SQLiteStore(Path(tmp) / f"bot-{len(stores)}.db"))
            return stores[-1]

        def fresh(store: SQLiteStore, on: boto3.Session = session) -> ReleaseService:
            platform = SageMakerPlatform(config, on, facts=Records(store))
            platforms.append(platform)
            # Clients exist before the clock starts: their creation is a once-per-process cost.
            platform.sagemaker  # noqa: B018
            platform._client("s3")
            return ReleaseService(platform, store)

        try:
            store = new_store()
            # Every version's facts, as the bot remembers them when each version's state-change event
            # makes it describe the version (undelayed: the events came in over time, not now).
            fresh(store, boto3.Session(region_name=REGION)).platform.list_model_packages()
            service = fresh(store)
            clients = {"sagemaker": service.platform.sagemaker, "s3": service.platform._client("s3")}  # type: ignore[attr-defined]
            delay.take()
            single_s = _median_s(
                lambda: clients["sagemaker"].describe_endpoint(EndpointName=ENDPOINTS["production"]),
                warm_repeats * 2,
            )
            delay.take()

            def timed(services: list[ReleaseService]) -> tuple[list[float], list[RecordedCall]]:
                """The status of each service in turn: its samples and the calls of the last one."""
                samples: list[float] = []
                calls: list[RecordedCall] = []
                for each in services:
                    delay.take()
                    t = time.perf_counter()
                    each.status()
                    samples.append(time.perf_counter() - t)
                    calls = delay.take()
                return samples, calls

            unseen_samples, unseen_calls = timed([fresh(new_store()) for _ in range(cold_repeats)])
            cold = [fresh(store) for _ in range(cold_repeats)]
            cold_samples, cold_calls = timed(cold)
            # Warm: the last cold platform again, its in-process caches filled.
            warm_samples, warm_calls = timed([cold[-1]] * warm_repeats)
            view = cold[-1].status()
            delay.take()
            shown = len(view.versions)
            unseen_seq_s = _replay(clients, unseen_calls)
            cold_seq_s = _replay(clients, cold_calls)
            warm_seq_s = statistics.median(
                _replay(clients, warm_calls) for _ in range(max(1, warm_repeats // 2))
            )
            delay.take()
        finally:
            for platform in platforms:
                platform.close()
            for store in stores:
                store.close()

    def phase(
        name: str, samples: list[float], calls: list[RecordedCall], sequential: float
    ) -> dict[str, Any]:
        latency = statistics.median(samples)
        goal = GOALS[name]
        return {
            "latency_ms": latency * 1000,
            "aws_calls": len(calls),
            "calls_by_operation": _count(calls),
            "sequential_ms": sequential * 1000,
            "speedup_vs_sequential": sequential / latency,
            "ratio_to_single_call": latency / single_s,
            "goal_ratio_to_single_call": goal,
            "met": None if goal is None else latency / single_s <= goal,
        }

    return {
        "machine": machine(),
        "setup": {
            "model_versions": versions,
            "endpoints_in_account": ENDPOINT_COUNT,
            "endpoints_read": len(ENDPOINTS),
            "pipeline_runs": executions,
            "aws_delay_ms": delay_ms,
            "max_concurrency": config.max_concurrency,
            "versions_shown": shown,
            "cold_repeats": cold_repeats,
            "warm_repeats": warm_repeats,
        },
        "single_call_ms": single_s * 1000,
        "cold": phase("cold", cold_samples, cold_calls, cold_seq_s),
        "cold_unseen": phase("cold_unseen", unseen_samples, unseen_calls, unseen_seq_s),
        "warm": phase("warm", warm_samples, warm_calls, warm_seq_s),
    }


def _count(calls: list[RecordedCall]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for call in calls:
        key = f"{call.service}:{call.operation}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--versions", type=int, default=200)
    parser.add_argument("--delay-ms", type=float, default=50.0)
    args = parser.parse_args(argv)
    json.dump(run(quick=args.quick, versions=args.versions, delay_ms=args.delay_ms), sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
