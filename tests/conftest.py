"""Shared fixtures: a real local platform, trained once per session and copied per test.

Session homes are built through the real platform (training, approval, deploys) and never changed
afterwards; a test gets a private copy. Copies share the session home's model artifacts: the registry
names them by absolute path, and nothing rewrites a registered model.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from bot.core.models import Actor, Role
from bot.core.service import ReleaseService
from bot.store.sqlite import SQLiteStore
from ml.platform import ENVIRONMENTS, ApprovalStatus, Execution, MLPlatform, NotFound
from tests.local_slack import local_slack, local_slack_options  # noqa: F401  (the shared Slack fixture)

ALICE = Actor("UALICE", "alice", frozenset({Role.TRAINER}))
BOB = Actor("UBOB", "bob", frozenset({Role.APPROVER}))
CAROL = Actor("UCAROL", "carol", frozenset({Role.RELEASER, Role.ONCALL}))
DAVE = Actor("UDAVE", "dave", frozenset({Role.APPROVER}))
ERIN = Actor("UERIN", "erin", frozenset())

#: Hyperparameters of a quick run (about 2 s on 2 cores); test accuracy about 0.86, above the 0.8 gate.
QUICK_RUN: dict[str, str] = {"num_round": "20", "max_depth": "4"}

#: Left out of every copy of a home: the running endpoint host's record and logs belong to the original.
_NOT_COPIED = ("endpoints.json", "*.log")


def wait_for_run(platform: MLPlatform, execution_id: str, timeout: float = 180.0) -> Execution:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        execution = platform.describe_execution(execution_id)
        if execution.status.terminal:
            return execution
        time.sleep(0.1)
    raise AssertionError(f"run {execution_id} did not finish in {timeout} s")


def train_version(platform: MLPlatform, requested_by: str, parameters: Mapping[str, str] = QUICK_RUN) -> int:
    """Run the real pipeline to completion and return the version it registered."""
    execution = platform.start_pipeline(parameters, requested_by=requested_by, git_sha="0123abc")
    done = wait_for_run(platform, execution.execution_id)
    assert done.status.value == "Succeeded", done.failure_reason
    assert done.model_version is not None, f"run {done.execution_id} registered nothing"
    return done.model_version


def copy_home(source: Path, target: Path) -> Path:
    """A private copy of a closed platform home, without its artifacts (the registry points at them)."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("artifacts", *_NOT_COPIED))
    return target


def platform_state(platform: MLPlatform) -> tuple[Any, ...]:
    """Registry, endpoints and runs as the platform reports them: what a refusal must leave unchanged."""
    packages = tuple((p.version, p.approval_status.value) for p in platform.list_model_packages())
    endpoints: list[tuple[int | None, str] | None] = []
    for env in ENVIRONMENTS:
        try:
            info = platform.describe_endpoint(env)
        except NotFound:
            endpoints.append(None)
        else:
            endpoints.append((info.version, info.status.value))
    runs = tuple((e.execution_id, e.status.value) for e in platform.list_executions(100))
    return packages, tuple(endpoints), runs


class Closer:
    """Runs teardown work on background threads; its failures are raised at the end of the session.

    Closing a ``LocalPlatform`` that hosts endpoints waits for the host's HTTP loop to notice (up to
    half a second) and for a running pipeline step to end: idle time that need not delay the next test.
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="test-teardown")
        self._jobs: list[Future[object]] = []

    def __call__(self, *closes: Callable[[], object]) -> None:
        """Run ``closes`` one after the other, in the background."""

        def run() -> None:
            for close in closes:
                close()

        self._jobs.append(self._pool.submit(run))

    def join(self) -> None:
        self._pool.shutdown(wait=True)
        for job in self._jobs:
            job.result()


@pytest.fixture(scope="session")
def close_later() -> Iterator[Closer]:
    closer = Closer()
    try:
        yield closer
    finally:
        closer.join()


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


@pytest.fixture(scope="session")
def two_version_home(trained_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``trained_home`` plus v2 from a second (quick) run of alice's; both PendingManualApproval."""
    from ml.local import LocalPlatform

    home = copy_home(trained_home, tmp_path_factory.mktemp("two-versions") / "home")
    with LocalPlatform(home, host_endpoints_in_process=True) as platform:
        assert train_version(platform, ALICE.id) == 2
    return home


@pytest.fixture(scope="session")
def release_template(two_version_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """v1 Approved and serving staging and production; v2 PendingManualApproval (alice's run).

    Built through the platform only: the bot's store knows nothing of it, as after a bot upgrade.
    """
    from ml.local import LocalPlatform

    home = copy_home(two_version_home, tmp_path_factory.mktemp("release") / "home")
    with LocalPlatform(home, host_endpoints_in_process=True) as platform:
        platform.update_approval(1, ApprovalStatus.APPROVED, "baseline")
        for env in ENVIRONMENTS:
            platform.deploy(env, 1, "UCAROL")
        assert platform_state(platform)[:2] == (
            ((2, "PendingManualApproval"), (1, "Approved")),
            ((1, "InService"), (1, "InService")),
        )
    return home


@pytest.fixture
def home(trained_home: Path, tmp_path: Path) -> Path:
    """A private copy of the trained home, so each test may change it freely."""
    target = tmp_path / "home"
    shutil.copytree(trained_home, target, ignore=shutil.ignore_patterns(*_NOT_COPIED))
    return target


@pytest.fixture
def release_home(release_template: Path, tmp_path: Path) -> Path:
    """A private copy of ``release_template``."""
    return copy_home(release_template, tmp_path / "release-home")


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
