"""A LocalSlack of its own per test, and a slack_sdk client pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from runtimes.slack_local import LocalSlack


@pytest.fixture
def slack() -> Iterator[LocalSlack]:
    with LocalSlack(token="xoxb-test-token") as server:
        yield server


@pytest.fixture
def client(slack: LocalSlack) -> WebClient:
    return slack.web_client()
