"""Waiting for pipeline runs on the events the platform publishes, never on a timer."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from ml.platform import DT_EXECUTION, Execution, ExecutionStatus, MLPlatform


class RunWatch:
    """Records every run whose end the platform announces; ``wait`` blocks until a run's end arrives.

    Subscribe before starting the runs to wait for: a run's end is committed a moment before it is
    announced, so only its event says that listeners have been told (``flush_events`` then sees it).
    """

    def __init__(self, platform: MLPlatform) -> None:
        self._platform = platform
        self._ended: set[str] = set()
        self._changed = threading.Condition()
        platform.subscribe(self._on_event)

    def _on_event(self, event: dict[str, Any]) -> None:
        detail = event.get("detail") or {}
        status = detail.get("currentPipelineExecutionStatus")
        if event.get("detail-type") == DT_EXECUTION and status and ExecutionStatus(status).terminal:
            with self._changed:
                self._ended.add(str(detail["pipelineExecutionArn"]))
                self._changed.notify_all()

    def wait(self, execution_id: str, timeout: float = 180.0) -> Execution:
        """The run once its end has been announced; fails the test after ``timeout`` s."""
        arn = self._platform.describe_execution(execution_id).execution_id
        with self._changed:
            if not self._changed.wait_for(lambda: arn in self._ended, timeout):
                status = self._platform.describe_execution(arn).status
                raise AssertionError(f"run {arn} still {status} after {timeout:g} s")
        return self._platform.describe_execution(arn)


def run_to_end(
    platform: MLPlatform, parameters: Mapping[str, str], requested_by: str, git_sha: str | None = None
) -> Execution:
    """Start a run and return it once it has ended (Succeeded, Failed or Stopped)."""
    watch = RunWatch(platform)
    return watch.wait(platform.start_pipeline(parameters, requested_by, git_sha).execution_id)
