"""The local training queue has a bound and a per-person limit; a refused request starts nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.core.models import Actor, Outcome, Role
from bot.services import build_services
from bot.settings import Settings
from ml.local import LocalPlatform
from ml.local.run_limits import RunLimitReached, RunLimits
from ml.platform import ExecutionStatus


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Holds every run in its first step until set; then the step fails, so nothing trains."""
    from ml.steps import preprocess

    event = threading.Event()

    def held(*args: Any, **kwargs: Any) -> dict[str, Any]:
        assert event.wait(60)
        raise RuntimeError("held by the test")

    monkeypatch.setattr(preprocess, "run", held)
    yield event
    event.set()


def short(execution_id: str) -> str:
    return execution_id.rsplit("/", 1)[-1]


def test_queue_bound_and_per_person_limit(tmp_path: Path, gate: threading.Event) -> None:
    platform = LocalPlatform(tmp_path, run_limits=RunLimits(max_queued=3, per_user=2))
    events: list[dict[str, Any]] = []
    platform.subscribe(events.append)
    try:
        a1 = platform.start_pipeline({}, "UALICE")
        a2 = platform.start_pipeline({}, "UALICE")
        with pytest.raises(RunLimitReached) as caught:
            platform.start_pipeline({}, "UALICE")
        message = str(caught.value)
        assert "at most 2 runs per person" in message and "MLOPS_MAX_RUNS_PER_USER" in message
        assert f"your runs in progress: {short(a1.execution_id)}, {short(a2.execution_id)}" in message
        assert len(platform.list_executions()) == 2  # nothing was started
        # nothing announced a third run (a1's steps may still be starting: their events are a1's)
        assert platform.flush_events()
        assert {e["detail"]["pipelineExecutionArn"] for e in events} <= {a1.execution_id, a2.execution_id}

        b1 = platform.start_pipeline({}, "UBOB")  # someone else still gets a slot
        with pytest.raises(RunLimitReached) as caught:
            platform.start_pipeline({}, "UCAROL")
        message = str(caught.value)
        assert "3 runs are queued or running" in message and "MLOPS_MAX_QUEUED_RUNS=3" in message
        assert "you have no run in progress" in message
        assert len(platform.list_executions()) == 3

        # a finished run frees its slot
        assert platform.stop_execution(b1.execution_id).status is ExecutionStatus.STOPPED
        c1 = platform.start_pipeline({}, "UCAROL")
        assert c1.status is ExecutionStatus.EXECUTING
    finally:
        for execution in platform.list_executions():
            if execution.status is ExecutionStatus.EXECUTING:
                platform.stop_execution(execution.execution_id)
        gate.set()
        platform.close()


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="per_user must be a whole number"):
        RunLimits(per_user=0)
    with pytest.raises(ValueError, match="max_queued"):
        RunLimits(max_queued=-1)


def test_train_is_refused_through_the_release_core_with_the_settings(
    tmp_path: Path, gate: threading.Event
) -> None:
    settings = Settings(
        mlops_home=tmp_path, mlops_backend="local", mlops_store="sqlite", mlops_max_runs_per_user=1
    )
    services = build_services(settings)
    alice = Actor("UALICE", "alice", frozenset({Role.TRAINER}))
    try:
        first = services.release.train(alice, {})
        assert first.outcome is Outcome.DONE
        refused = services.release.train(alice, {})
        assert refused.outcome is Outcome.REFUSED
        assert "at most 1 run per person" in refused.message
        assert short(str(first.data["execution_id"])) in refused.message
        assert len(services.platform.list_executions()) == 1
    finally:
        services.release.stop(alice, str(first.data["execution_id"]))
        gate.set()
        services.close()
