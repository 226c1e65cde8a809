"""Shared fixtures: a real local platform, trained once per session and copied per test.

Session homes are built through the real platform (training, approval, deploys) and never changed
afterwards; a test gets a private copy. Copies share the session home's model artifacts: the registry
names them by absolute path, and nothing rewrites a registered model.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import botocore.loaders
import pytest

from bot.core.models import Actor, Role
from bot.core.service import ReleaseService
from bot.store.sqlite import SQLiteStore
from ml.platform import ENVIRONMENTS, ApprovalStatus, Execution, MLPlatform, NotFound
from tests.local_slack import local_slack, local_slack_options  # noqa: F401  (the shared Slack fixture)


def _share_botocore_models() -> None:
    """Every botocore ``Loader`` of a test process shares the service models it parsed.

    botocore caches a parsed model per session, and tests build many sessions (moto, each platform):
    each parsed the same multi-megabyte JSON again, about 18 s of the suite's CPU. The models are
    read only once processed, as botocore itself shares one between all clients of a session.
    """
    original = botocore.loaders.Loader.load_service_model
    parsed: dict[tuple[Any, ...], Any] = {}
    lock = threading.Lock()

    def load_service_model(
        self: botocore.loaders.Loader, service_name: str, type_name: str, api_version: str | None = None
    ) -> Any:
        key = (tuple(self.search_paths), service_name, type_name, api_version)
        with lock:
            found = parsed.get(key)
        if found is None:
            found = original(self, service_name, type_name, api_version)
            with lock:
                parsed.setdefault(key, found)
        return found

    botocore.loaders.Loader.load_service_model = load_service_model  # type: ignore[method-assign]


_share_botocore_models()


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: two workers per CPU. Tests spend much of their time waiting on child processes,
    servers and sockets; one worker per CPU leaves the CPUs idle meanwhile (on two CPUs, with
    ``--dist loadfile``: 2 workers took 170 s, 3 took 145 s, 4 took 123 s and 6 took 131 s)."""
    return 2 * len(os.sched_getaffinity(0))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files marked ``long`` (each over ~10 s) first, in collection order otherwise: ``--dist loadfile``
    hands whole files out in this order, and a long file started last keeps its worker busy after the
    others have finished."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


ALICE = Actor("UALICE", "alice", frozenset({Role.TRAINER}))
BOB = Actor("UBOB", "bob", frozenset({Role.APPROVER}))
CAROL = Actor("UCAROL", "carol", frozenset({Role.RELEASER, Role.ONCALL}))
DAVE = Actor("UDAVE", "dave", frozenset({Role.APPROVER}))
ERIN = Actor("UERIN", "erin", frozenset())

#: Hyperparameters of a quick run; test accuracy about 0.85, above the 0.8 gate.
QUICK_RUN: dict[str, str] = {"num_round": "20", "max_depth": "4"}

#: The stratified Adult sample (``ml.datasets.adult_sample``) in a platform's data folder
#: (``MLOPS_DATA_DIR``, default ``<home>/data``); every session home has it.
SAMPLE = "adult-sample.data"

#: A quick run on the sample: what a test that needs *a* new version trains.
SAMPLE_RUN: dict[str, str] = {"InputData": SAMPLE, **QUICK_RUN}

#: Left out of every copy of a home: the running endpoint host's record and logs belong to the original.
_NOT_COPIED = ("endpoints.json", "*.log")


def wait_for_run(platform: MLPlatform, execution_id: str, timeout: float = 180.0) -> Execution:
    """Wait for a local run to end, woken by the platform's events (each is published once recorded)."""
    changed = threading.Condition()
    events = 0

    def on_event(_event: object) -> None:
        nonlocal events
        with changed:
            events += 1
            changed.notify_all()

    platform.subscribe(on_event)
    deadline = time.monotonic() + timeout
    while True:
        with changed:
            seen = events
        execution = platform.describe_execution(execution_id)
        if execution.status.terminal:
            return execution
        with changed:
            if not changed.wait_for(lambda seen=seen: events != seen, max(deadline - time.monotonic(), 0.0)):
                break
    execution = platform.describe_execution(execution_id)
    assert execution.status.terminal, f"run {execution_id} did not finish in {timeout} s"
    return execution


def wait_for_process(check: Callable[[], Any], what: str, timeout: float = 120.0) -> Any:
    """Poll ``check`` until it is truthy: for state kept by another process, which sends no events."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)  # real time: another process changes this state and cannot notify us
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def with_sample(platform: MLPlatform) -> None:
    """Put ``SAMPLE`` in ``platform``'s data folder if it is a local one without it."""
    from ml import datasets
    from ml.local import LocalPlatform

    if isinstance(platform, LocalPlatform) and not (platform.data_dir / SAMPLE).exists():
        datasets.write_adult_sample(platform.data_dir / SAMPLE)


def train_version(platform: MLPlatform, requested_by: str, parameters: Mapping[str, str] = SAMPLE_RUN) -> int:
    """Run the real pipeline to completion and return the version it registered."""
    with_sample(platform)
    execution = platform.start_pipeline(parameters, requested_by=requested_by)
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


#: Threads a test may leave running, each with who owns it and why it outlives the test.
ALLOWED_THREADS: dict[str, str] = {
    # the session's Closer (below): teardown work runs on its pool, joined at the end of the session
    "test-teardown": "tests/conftest.py Closer",
    # the SageMaker runtime twin's pool, one per process like the moto backend it patches
    "moto-runtime": "tests/ml/sagemaker/moto_runtime.py",
}


def children() -> set[int]:
    """Live child processes of this process (zombies reaped by nobody count too: they leak a pid)."""
    found: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            found.update(int(pid) for pid in (task / "children").read_text().split())
        except OSError:  # the thread ended meanwhile
            continue
    return found


def _leaked_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    return [
        t
        for t in threading.enumerate()
        if t not in before and not t.daemon and not t.name.startswith(tuple(ALLOWED_THREADS))
    ]


@pytest.fixture(autouse=True)
def root_logging_restored() -> Iterator[None]:
    """A command's ``main`` run in process may set up logging for its terminal (``ml.pipeline_cli``
    puts a StreamHandler on the root logger, on the test's captured stderr). After the test that
    stream is closed: a record logged by a later test on the same worker would fail to print, and
    Python would write "--- Logging error ---" into that test's output. Undo it after each test
    (pytest installs and removes its own capture handlers around every phase itself)."""
    root = logging.getLogger()
    before, level = {id(h) for h in root.handlers}, root.level
    yield
    for handler in list(root.handlers):
        if type(handler) is logging.StreamHandler and id(handler) not in before:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    """Fail the test that leaves a non-daemon thread or a child process running after its teardown."""
    threads, processes = set(threading.enumerate()), children()
    yield
    leaked = _leaked_threads(threads)
    for thread in leaked:  # a thread that is shutting down gets a moment to end
        thread.join(timeout=10)
    alive = [t.name for t in leaked if t.is_alive()]
    new_children = children() - processes
    assert not alive, f"the test left non-daemon threads running: {alive}"
    assert not new_children, f"the test left child processes running: {sorted(new_children)}"


@pytest.fixture(scope="session")
def close_later() -> Iterator[Closer]:
    closer = Closer()
    try:
        yield closer
    finally:
        closer.join()


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]) -> Path:
    """``build(folder)`` once per pytest run, shared by every xdist worker, then only read.

    The first worker to ask builds under a lock; the others wait for it and reuse the result. A
    build that failed leaves no completion mark, so the next worker builds again (and fails the same way).
    """
    root = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:  # each worker's base is a folder of the run's base
        root = root.parent
    target, done = root / f"shared-{name}", root / f"shared-{name}.done"
    with (root / f"shared-{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()
            build(target)
            done.touch()
    return target


def _train_home(home: Path) -> None:
    from ml.local import LocalPlatform

    with LocalPlatform(home, host_endpoints_in_process=True) as platform:
        # the pipeline's default hyperparameters, on the sample
        assert train_version(platform, ALICE.id, {"InputData": SAMPLE}) == 1


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLOPS_HOME where alice's run on ``SAMPLE`` registered v1 (PendingManualApproval)."""
    return built_once(tmp_path_factory, "trained-home", _train_home)


@pytest.fixture(scope="session")
def two_version_home(trained_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``trained_home`` plus v2 from a second (quick) run of alice's; both PendingManualApproval."""
    from ml.local import LocalPlatform

    def build(folder: Path) -> None:
        home = copy_home(trained_home, folder / "home")
        with LocalPlatform(home, host_endpoints_in_process=True) as platform:
            assert train_version(platform, ALICE.id) == 2

    return built_once(tmp_path_factory, "two-versions", build) / "home"


@pytest.fixture(scope="session")
def release_template(two_version_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """v1 Approved and serving staging and production; v2 PendingManualApproval (alice's run).

    Built through the platform only: the bot's store knows nothing of it, as after a bot upgrade.
    """
    from ml.local import LocalPlatform

    def build(folder: Path) -> None:
        home = copy_home(two_version_home, folder / "home")
        with LocalPlatform(home, host_endpoints_in_process=True) as platform:
            platform.update_approval(1, ApprovalStatus.APPROVED, "baseline")
            for env in ENVIRONMENTS:
                platform.deploy(env, 1, "UCAROL")
            assert platform_state(platform)[:2] == (
                ((2, "PendingManualApproval"), (1, "Approved")),
                ((1, "InService"), (1, "InService")),
            )

    return built_once(tmp_path_factory, "release", build) / "home"


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
