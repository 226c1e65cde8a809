"""What the engine's tests share: a clock that moves only when the test (or a sleep through it) moves it,
and every ``Store`` backend (SQLite on a temporary file, DynamoDB under moto) on that clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from bot.core.store import Store
from bot.store.dynamodb import DynamoDBStore, create_table
from bot.store.sqlite import SQLiteStore
from ml.clock import Clock
from ml.sagemaker.clients import aws_session


class FakeClock(Clock):
    """A ``Clock`` on test time: ``advance`` (or ``sleep``) moves wall and monotonic time together.

    Wall time starts at the real time by default, so that what the engine compares with another
    party's real clock (the local Slack's message timestamps) starts out in agreement.
    """

    def __init__(self, wall: float | None = None) -> None:
        # Clock is frozen: the moving parts live in a list the bound methods read.
        state = [time.time() if wall is None else wall, 1000.0]
        lock = threading.Lock()
        super().__init__(wall=lambda: state[0], monotonic=lambda: state[1], sleep=self.advance)
        object.__setattr__(self, "_state", state)
        object.__setattr__(self, "_lock", lock)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"time only moves forward, got {seconds}")
        with self._lock:  # type: ignore[attr-defined]
            self._state[0] += seconds  # type: ignore[attr-defined]
            self._state[1] += seconds  # type: ignore[attr-defined]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


TABLE = "mlops-bot-test"


@dataclass
class Backend:
    name: str
    open: Callable[[], Store]
    opened: list[Store] = field(default_factory=list)

    def new(self) -> Store:
        store = self.open()
        self.opened.append(store)
        return store


@contextmanager
def serialized_moto_dynamodb() -> Iterator[None]:
    """Make moto handle one DynamoDB request at a time, as DynamoDB applies each write atomically.

    moto's in-process backend has no locking, so two concurrent conditional writes can both pass
    their check. Serializing whole requests restores DynamoDB's per-request atomicity and nothing
    more: a store that raced a read against a later write would still fail the concurrency tests.
    """
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.Lock()
    original = DynamoHandler.call_action

    def call_action(self: DynamoHandler) -> Any:
        with lock:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    try:
        yield
    finally:
        DynamoHandler.call_action = original  # type: ignore[method-assign]


@pytest.fixture(params=["sqlite", "dynamodb"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Backend]:
    if request.param == "sqlite":
        path = tmp_path / "store.db"
        b = Backend("sqlite", lambda: SQLiteStore(path, clock=clock))
        yield b
        for s in b.opened:
            s.close()
        return
    with mock_aws(), serialized_moto_dynamodb():
        client = aws_session().client("dynamodb", region_name="us-east-1")
        create_table(client, TABLE)
        b = Backend("dynamodb", lambda: DynamoDBStore(TABLE, region="us-east-1", clock=clock))
        yield b
        for s in b.opened:
            s.close()


@pytest.fixture
def store(backend: Backend) -> Store:
    return backend.new()
