"""A bot killed in the middle of a deploy: the release is picked up, or reported, never doubled."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.models import Action, DeploymentRecord, Outcome
from bot.core.records import NS_DEPLOYMENT, NS_INFLIGHT
from bot.core.service import ReleaseService, local_owner_is_dead
from bot.store.sqlite import SQLiteStore
from ml.local.endpoints import stop_host_process
from ml.local.registry import TRANSITIONAL_ENDPOINT_STATUSES
from tests.conftest import BOB, CAROL

pytestmark = pytest.mark.long


def dead_owner() -> str:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    import socket

    return f"{socket.gethostname()}:{proc.stdout.strip()}"


def promote_marker(since: str = "2026-01-01T00:00:00", owner: str | None = None) -> dict[str, object]:
    """The in-flight marker carol's promote of v1 leaves; by default its owner is a dead process."""
    return {
        "action": "promote",
        "version": 1,
        "previous": None,
        "kind": "promote",
        "actor": "carol",
        "actor_id": CAROL.id,
        "owner": owner if owner is not None else dead_owner(),
        "since": since,
    }


def test_owner_liveness() -> None:
    import socket

    assert local_owner_is_dead(dead_owner())
    assert not local_owner_is_dead(f"{socket.gethostname()}:{os.getpid()}")
    assert not local_owner_is_dead("another-host:1")  # other hosts' locks expire by TTL instead
    assert not local_owner_is_dead("garbage")


def test_interrupted_promote_is_reported_with_the_next_safe_action(local_release: ReleaseService) -> None:
    release = local_release
    assert release.approve(BOB, 1).ok
    # a process died after taking the production lock, before the platform switched
    release.records.store.put(NS_INFLIGHT, "production", promote_marker())
    blocked = release.promote(CAROL, 1)
    assert blocked.outcome is Outcome.REFUSED and "busy" in blocked.message

    results = release.recover(local_owner_is_dead)
    assert len(results) == 1
    assert results[0].outcome is Outcome.FAILED
    assert "interrupted" in results[0].message and results[0].data["retry"] == "promote v1"
    assert "/mlops" not in results[0].message  # the front ends say how to run it
    assert release.history("production") == []
    assert release.recover(local_owner_is_dead) == []  # settled once
    assert release.promote(CAROL, 1).outcome is Outcome.DONE


def test_a_switch_that_completed_is_recorded_once(local_release: ReleaseService) -> None:
    release = local_release
    assert release.approve(BOB, 1).ok
    release.platform.deploy(
        "production", 1, "carol"
    )  # the platform finished; the process died before recording
    release.records.store.put(NS_INFLIGHT, "production", promote_marker())
    results = release.recover(local_owner_is_dead)
    assert [r.outcome for r in results] == [Outcome.DONE]
    assert [(r.kind, r.version) for r in release.history("production")] == [("promote", 1)]
    assert release.recover(local_owner_is_dead) == []
    assert release.promote(CAROL, 1).outcome is Outcome.NOOP


def done_promotes(release: ReleaseService) -> int:
    return sum(1 for e in release.audit(50) if e.action is Action.PROMOTE and e.outcome is Outcome.DONE)


def test_a_switch_recorded_and_audited_but_not_released_is_not_audited_again(
    local_release: ReleaseService,
) -> None:
    release = local_release
    assert release.approve(BOB, 1).ok
    since = datetime.now(UTC).isoformat()  # the service reads the system clock here
    assert release.promote(CAROL, 1).outcome is Outcome.DONE
    # the process stopped after the audit, before releasing the environment
    release.records.store.put(NS_INFLIGHT, "production", promote_marker(since))
    results = release.recover(local_owner_is_dead)
    assert [r.outcome for r in results] == [Outcome.NOOP]
    assert "already recorded" in results[0].message
    assert release.records.inflight() == []
    assert done_promotes(release) == 1 and len(release.history("production")) == 1


def test_a_switch_recorded_but_not_audited_is_audited_once(local_release: ReleaseService) -> None:
    release = local_release
    assert release.approve(BOB, 1).ok
    release.platform.deploy("production", 1, "carol")
    release.records.add_deployment(
        DeploymentRecord("production", 1, None, CAROL.id, "carol", datetime.now(UTC), "promote")
    )
    # the process stopped after recording the switch, before auditing it
    release.records.store.put(NS_INFLIGHT, "production", promote_marker())
    assert [r.outcome for r in release.recover(local_owner_is_dead)] == [Outcome.DONE]
    assert done_promotes(release) == 1 and len(release.history("production")) == 1
    assert release.recover(local_owner_is_dead) == []


def test_live_locks_are_left_alone(local_release: ReleaseService) -> None:
    import socket

    release = local_release
    release.records.store.put(
        NS_INFLIGHT,
        "staging",
        {
            "action": "deploy",
            "version": 1,
            "kind": "deploy",
            "actor": "carol",
            "owner": f"{socket.gethostname()}:{os.getpid()}",
        },
    )
    assert release.recover(local_owner_is_dead) == []
    assert release.records.inflight()


def production_switching(home: Path) -> bool:
    """Whether the local platform's production endpoint is being created or updated (read-only)."""
    with sqlite3.connect(f"file:{home / 'registry.db'}?mode=ro", uri=True, timeout=30) as db:
        rows = db.execute("SELECT status FROM endpoints WHERE environment = 'production'").fetchall()
    return any(status in TRANSITIONAL_ENDPOINT_STATUSES for (status,) in rows)


#: moments of a promote at which the CLI is killed: lock taken, platform switching, switch recorded
MOMENTS: dict[str, Callable[[SQLiteStore, Path], bool]] = {
    "locked": lambda store, home: store.get(NS_INFLIGHT, "production") is not None,
    "switching": lambda store, home: production_switching(home),
    "recorded": lambda store, home: bool(store.query(NS_DEPLOYMENT, "production#")),
}


def wait_for(proc: subprocess.Popen[bytes], reached: Callable[[], bool]) -> bool:
    """Wait until ``reached()`` (True) or the process has ended (False), whichever comes first."""
    deadline = time.monotonic() + 120
    while proc.poll() is None:
        if reached():
            return True
        assert time.monotonic() < deadline, "the promote neither reached the moment nor ended"
        time.sleep(0.002)  # real time: another process writes what is polled here; no event crosses over
    return False


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_sigkill_during_promote_then_restart(home: Path, moment: str) -> None:
    """Kill the CLI at different moments of a promote; a restarted core settles it exactly once."""
    from ml.local import LocalPlatform

    env = {**os.environ, "MLOPS_HOME": str(home)}
    try:
        approve = subprocess.run(
            [sys.executable, "-m", "runtimes.cli", "approve", "v1", "--as", "bob"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert approve.returncode == 0, approve.stderr
        store = SQLiteStore(home / "bot.db")
        proc = subprocess.Popen(
            [sys.executable, "-m", "runtimes.cli", "promote", "v1", "--as", "carol", "--yes"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        reached = wait_for(proc, lambda: MOMENTS[moment](store, home))
        # the switch takes seconds; a recorded one may finish before it is seen, which is fine too
        assert reached or moment == "recorded"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        # The restarted bot uses the endpoint host process the CLI started (stopped below).
        platform = LocalPlatform(home)
        release = ReleaseService(platform, store)
        try:
            release.recover(local_owner_is_dead)
            assert release.records.inflight() == []
            serving = release.serving("production")
            history = release.history("production")
            # the store agrees with the platform, and the promote is recorded at most once
            assert len(history) == (1 if serving == 1 else 0)
            audit = [e for e in release.audit(50) if e.action is Action.PROMOTE]
            assert sum(1 for e in audit if e.outcome is Outcome.DONE) == len(history)
            # the next safe action works either way
            again = release.promote(CAROL, 1)
            assert again.outcome in (Outcome.DONE, Outcome.NOOP)
            assert release.serving("production") == 1
            assert len(release.history("production")) == 1
        finally:
            platform.close()
            store.close()
    finally:
        stop_host_process(home)
