"""Shared fixtures: a real local platform, trained once per session and copied per test."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.core.models import Actor, Role
from bot.core.service import ReleaseService
from bot.store.sqlite import SQLiteStore

ALICE = Actor("UALICE", "alice", frozenset({Role.TRAINER}))
BOB = Actor("UBOB", "bob", frozenset({Role.APPROVER}))
CAROL = Actor("UCAROL", "carol", frozenset({Role.RELEASER, Role.ONCALL}))
DAVE = Actor("UDAVE", "dave", frozenset({Role.APPROVER}))
ERIN = Actor("UERIN", "erin", frozenset())


def wait_for_run(platform, execution_id: str, timeout: float = 180.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        execution = platform.describe_execution(execution_id)
        if execution.status.terminal:
            return execution
        time.sleep(0.1)
    raise AssertionError(f"run {execution_id} did not finish in {timeout} s")


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLOPS_HOME where alice's run registered v1 (PendingManualApproval)."""
    from ml.local import LocalPlatform

    home = tmp_path_factory.mktemp("trained-home")
    platform = LocalPlatform(home, host_endpoints_in_process=True)
    try:
        execution = platform.start_pipeline({}, requested_by=ALICE.id, git_sha="0123abc")
        done = wait_for_run(platform, execution.execution_id)
        assert done.status.value == "Succeeded", done.failure_reason
        assert done.model_version == 1
    finally:
        platform.close()
    return home


@pytest.fixture
def home(trained_home: Path, tmp_path: Path) -> Path:
    """A private copy of the trained home, so each test may change it freely."""
    target = tmp_path / "home"
    shutil.copytree(trained_home, target, ignore=shutil.ignore_patterns("endpoints.json", "*.log"))
    return target


@pytest.fixture
def local_release(home: Path) -> Iterator[ReleaseService]:
    from ml.local import LocalPlatform

    platform = LocalPlatform(home, host_endpoints_in_process=True)
    store = SQLiteStore(home / "bot.db")
    try:
        yield ReleaseService(platform, store)
    finally:
        platform.close()
        store.close()
