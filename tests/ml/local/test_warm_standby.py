"""Instant rollback to the warm previous version, its window, and the rollback path either way."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from ml.local import LocalPlatform
from ml.local.endpoints import host_status
from ml.platform import ApprovalStatus
from ml.rollout_policy import RolloutPolicy
from tests.ml.clocks import ManualClock
from tests.ml.local.rollouts import Answered, invoke, platform_on

AT_ONCE = RolloutPolicy("all-at-once", 100, 0, 0)


def test_rollback_to_the_warm_version_shifts_weights_with_no_failed_request(release_home: Path) -> None:
    clock = ManualClock()
    with platform_on(release_home, clock) as platform:
        assert platform.deploy("production", 2, "UCAROL", rollout=AT_ONCE).version == 2
        path = platform.rollback_path("production", 1)
        assert path.warm and path.detail.startswith("shifts all traffic back to the warm v1 at once")
        standby = platform.warm_standby("production")
        assert standby is not None and standby.version == 1 and "stays loaded" in standby.cost
        host = platform._host
        assert host is not None
        loads = host.loads

        sent, stop = Answered(), threading.Event()

        def load() -> None:
            while not stop.is_set():
                invoke(platform, 5, sent)

        thread = threading.Thread(target=load)
        thread.start()
        try:
            invoke(platform, 1)  # the load runs before the shift
            info = platform.rollback("production", 1, "UCAROL")
        finally:
            stop.set()
            thread.join(30)

        assert info.version == 1 and host.loads == loads  # no model loaded
        assert sent.failures == [] and len(sent.versions) > 0
        assert invoke(platform, 10).versions == ["1"] * 10
        history = platform.endpoint_history("production")
        assert (history[-1].version, history[-1].kind) == (1, "rollback")
        again = platform.warm_standby("production")
        assert again is not None and again.version == 2  # the version rolled away from is the warm one


def test_after_the_window_the_warm_version_is_retired_and_rollback_loads_it(release_home: Path) -> None:
    clock = ManualClock()
    with platform_on(release_home, clock) as platform:
        platform.deploy("production", 2, "UCAROL", rollout=AT_ONCE)
        assert platform.retire_warm("production") is False  # still within its window
        clock.advance(31 * 60)
        assert platform.warm_standby("production") is None
        path = platform.rollback_path("production", 1)
        assert (path.warm, path.detail) == (False, "loads v1 again on the endpoint host")
        assert platform.retire_warm("production") is True
        assert invoke(platform, 3).variants == ["AllTraffic"] * 3
        assert platform.rollback("production", 1, "UCAROL").version == 1
        assert invoke(platform, 3).versions == ["1"] * 3


def test_without_warm_rollback_nothing_stays_loaded(release_home: Path) -> None:
    clock = ManualClock()
    with platform_on(release_home, clock, warm_rollback=None) as platform:
        platform.deploy("production", 2, "UCAROL", rollout=RolloutPolicy("all-at-once", 100, 0, 0))
        assert platform.warm_standby("production") is None
        assert not platform.rollback_path("production", 1).warm


def test_a_host_process_takes_weight_changes_at_once(release_home: Path) -> None:
    """Out of process, each weight change is pushed to the host (``POST /sync``), not left to its poll."""
    platform = LocalPlatform(release_home, warm_rollback=timedelta(minutes=30))
    try:
        platform.update_approval(2, ApprovalStatus.APPROVED, "fine")
        assert platform.deploy("production", 2, "UCAROL", rollout=AT_ONCE).version == 2
        assert invoke(platform, 4).versions == ["2"] * 4  # answered right after deploy returned
        assert platform.rollback_path("production", 1).warm
        assert platform.rollback("production", 1, "UCAROL").version == 1
        assert invoke(platform, 4).versions == ["1"] * 4
        status = host_status(platform.endpoint_url) or {}
        variants = status["endpoints"]["mlops-xgboost-production"]["variants"]
        assert [(v["name"], v["weight"], v["role"]) for v in variants] == [
            ("v2", 0, "warm"),
            ("v1", 100, "new"),
        ]
        assert variants[1]["total"]["invocations"] == 4
    finally:
        platform.stop_endpoint_host()
        platform.close()
