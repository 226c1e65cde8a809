"""Starting a user-group refresh never blocks the requests that read the roles meanwhile."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from bot.core.models import Role
from handlers.middleware import roles as roles_module
from runtimes.slack_local import LocalSlack
from tests.handlers.middleware.test_permissions import directory


def test_the_directory_lock_is_free_while_a_refresh_thread_starts(
    local_slack: LocalSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thread.start() waits for the new thread to run, which under load takes several GIL hand-offs:
    every request reading the roles would queue behind a lock held across it."""
    groups = directory(local_slack)
    assert groups.roles_of("UBOB") == {Role.APPROVER}  # the first load, done
    held_at_start: list[bool] = []
    real_start = threading.Thread.start

    def start(thread: threading.Thread) -> None:
        if thread.name == "mlops-role-refresh":
            held_at_start.append(groups._lock.locked())
        real_start(thread)

    monkeypatch.setattr(roles_module.threading.Thread, "start", start)
    assert groups.refresh().wait(60)
    assert groups.wait_refreshed(60)
    assert held_at_start == [False]
    assert groups.roles_of("UBOB") == {Role.APPROVER}


def test_a_refresh_that_gets_no_thread_leaves_nothing_in_flight(
    local_slack: LocalSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    groups = directory(local_slack)
    assert groups.roles_of("UCAROL") == {Role.RELEASER, Role.ONCALL}
    real_start = threading.Thread.start

    def no_thread(thread: threading.Thread, *args: Any) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(roles_module.threading.Thread, "start", no_thread)
    with pytest.raises(RuntimeError, match="can't start new thread"):
        groups.refresh()
    assert groups.wait_refreshed(0)  # not waiting for a refresh that never ran
    monkeypatch.setattr(roles_module.threading.Thread, "start", real_start)
    assert groups.refresh().wait(60)  # the next one starts as usual
    assert groups.roles_of("UCAROL") == {Role.RELEASER, Role.ONCALL}
