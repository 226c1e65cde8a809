"""The one Slack of the tests: a ``LocalSlack`` on 127.0.0.1 per test, set up per directory.

A directory's conftest overrides ``local_slack_options`` (users, token, channels) and may give the
fixture a shorter name; faults, holds and the record of calls are LocalSlack's own methods.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from runtimes.slack_local import LocalSlack


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
