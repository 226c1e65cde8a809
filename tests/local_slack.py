"""The one Slack of the tests: a ``LocalSlack`` on 127.0.0.1 per test, set up per directory.

A directory's conftest overrides ``local_slack_options`` (users, token, channels) and may give the
fixture a shorter name; faults, holds and the record of calls are LocalSlack's own methods.
``AnswerLog`` adds what a test of correlation needs: every response_url post kept under its URL.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from runtimes.slack_local import LocalSlack

JSON = dict[str, Any]


class AnswerLog(LocalSlack):
    """LocalSlack that also keeps each response_url post under the URL it was posted to.

    ``arrived`` counts posts as they reach the server, before a ``hold`` of ``response_url`` lets
    them through, so a test can see that answers are waiting before it releases them.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._answers: dict[str, list[JSON]] = {}
        self._arrived: list[str] = []

    def handle_response_url(self, key: str, payload: JSON) -> tuple[int, str]:
        with self._lock:
            self._arrived.append(key)
        self._touch()
        status, answer = super().handle_response_url(key, payload)
        with self._lock:
            self._answers.setdefault(key, []).append(copy.deepcopy(payload))
        self._touch()
        return status, answer

    @staticmethod
    def _key(url: str) -> str:
        return url.rsplit("/response/", 1)[-1]

    def answers_to(self, url: str) -> list[JSON]:
        """The payloads posted to the response URL ``url``, oldest first."""
        with self._lock:
            return list(self._answers.get(self._key(url), ()))

    def poke(self) -> None:
        """Wake ``wait_for`` callers: something they look at outside this workspace changed."""
        self._touch()

    def arrived(self) -> int:
        """How many response_url posts reached the server (held or not)."""
        with self._lock:
            return len(self._arrived)


@pytest.fixture
def local_slack_options() -> dict[str, Any]:
    """Constructor arguments of the test's LocalSlack."""
    return {}


@pytest.fixture
def local_slack(local_slack_options: dict[str, Any]) -> Iterator[LocalSlack]:
    slack = LocalSlack(**local_slack_options).start()
    try:
        yield slack
    finally:
        slack.close()
