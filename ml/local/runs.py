"""Pipeline runs of the local platform: start, look up, stop, and fail what a dead process left running."""

from __future__ import annotations

import logging
import secrets
import string
from collections.abc import Callable, Mapping
from pathlib import Path

from ml.clock import Clock
from ml.parameters import RunPolicy
from ml.platform import PIPELINE_STEPS, ApprovalStatus, Execution, ExecutionStatus, InvalidRequest, StepStatus

from . import events
from . import parameters as run_parameters
from .announcer import Announcer
from .pipeline import PipelineRunner, RunRequest
from .registry import OwnerToken, Registry
from .run_limits import RunLimits
from .run_log import relative_path
from .source import GitSource

log = logging.getLogger(__name__)

INTERRUPTED = "interrupted: the process running it stopped"
_ID_ALPHABET = string.ascii_lowercase + string.digits
_ACTIVE_STEPS = (StepStatus.STARTING, StepStatus.EXECUTING, StepStatus.STOPPING)


class Runs:
    """The executions of one pipeline, recorded in the registry and run by a ``PipelineRunner``."""

    def __init__(
        self,
        *,
        registry: Registry,
        announce: Announcer,
        owner: OwnerToken,
        runner: PipelineRunner,
        pipeline_name: str,
        run_limits: RunLimits,
        policy: RunPolicy,
        clock: Clock,
        source: Callable[[], GitSource],
    ) -> None:
        self._registry = registry
        self._announce = announce
        self._owner = owner
        self._runner = runner
        self._pipeline_name = pipeline_name
        self._run_limits = run_limits
        self._policy = policy
        self._clock = clock
        self._source = source

    def recover(self) -> None:
        """Fail the runs a dead process left Executing or Stopping, so none stays so forever."""
        for execution_id, pipeline, owner in self._registry.unfinished_executions():
            if self._owner.alive(owner):
                continue
            execution = self._registry.get_execution(execution_id)
            now = self._clock.now()
            for step in execution.steps:
                if step.status in _ACTIVE_STEPS:
                    self._registry.set_step(
                        execution_id, step.name, StepStatus.FAILED, ended_at=now, failure_reason=INTERRUPTED
                    )
            previous = self._registry.set_execution_status(
                execution_id,
                ExecutionStatus.FAILED,
                only_from=(ExecutionStatus.EXECUTING, ExecutionStatus.STOPPING),
                ended_at=now,
                failure_reason=INTERRUPTED,
            )
            if previous is not None:
                log.warning(
                    "execution %s was left %s by a dead process: marked Failed", execution_id, previous
                )
                self._announce.execution(execution_id, ExecutionStatus.FAILED, previous, pipeline=pipeline)

    def stop_own(self) -> None:
        """Ask every unfinished run this process owns to stop at its next step boundary."""
        for execution_id, _pipeline, owner in self._registry.unfinished_executions():
            if owner == self._owner.token:
                self._request_stop(execution_id)

    def start(
        self, parameters: Mapping[str, str], requested_by: str, git_sha: str | None, data_dir: Path
    ) -> Execution:
        if not requested_by or not requested_by.strip():
            raise InvalidRequest("requested_by must name who asked for the run")
        run = run_parameters.resolve_run(parameters, policy=self._policy, data_dir=data_dir)
        resolved = run.recorded
        suffix = "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))
        execution_id = events.execution_arn(self._pipeline_name, suffix)
        # The code that runs is this checkout's: record its commit, whatever a caller claims.
        source = self._source()
        if git_sha and git_sha != source.sha:
            log.warning("run %s: recording commit %r of the checkout, not %r", suffix, source.sha, git_sha)
        git_sha = source.sha or None
        # git_sha has a field of its own; the rest of where the run comes from goes beside it
        origin = {k: v for k, v in source.lineage().items() if k != "git_sha"}
        origin["logs"] = relative_path(suffix)
        started = self._clock.now()
        execution = self._registry.create_execution(
            execution_id=execution_id,
            pipeline=self._pipeline_name,
            display_name=f"execution-{int(started.timestamp() * 1000)}",
            parameters=resolved,
            requested_by=requested_by,
            git_sha=git_sha,
            owner=self._owner.token,
            origin=origin,
            steps=PIPELINE_STEPS,
            started_at=started,
            admit=self._run_limits.admit(requested_by),
        )
        self._announce.execution(execution_id, ExecutionStatus.EXECUTING, None)
        self._runner.submit(
            RunRequest(
                execution_id=execution_id,
                input_path=run.input_path,
                target=run.target,
                threshold=run.threshold,
                approval_status=ApprovalStatus.PENDING,
                hyperparameters=run.hyperparameters,
                parameters=resolved,
                requested_by=requested_by,
                git_sha=git_sha,
                origin=origin,
            )
        )
        log.info("started %s for %s (%s)", execution_id, requested_by, resolved)
        return execution

    def describe(self, execution_id: str) -> Execution:
        return self._registry.get_execution(self._execution_arn(execution_id))

    def list(self, limit: int) -> list[Execution]:
        if limit < 1:
            raise InvalidRequest(f"limit must be at least 1, not {limit}")
        return self._registry.list_executions(self._pipeline_name, limit)

    def stop(self, execution_id: str) -> Execution:
        execution_id = self._execution_arn(execution_id)
        execution = self._registry.get_execution(execution_id)
        if execution.status.terminal:
            raise InvalidRequest(f"execution {execution_id} already {execution.status}: nothing to stop")
        self._request_stop(execution_id)
        return self._registry.get_execution(execution_id)

    def _request_stop(self, execution_id: str) -> None:
        previous = self._registry.set_execution_status(
            execution_id, ExecutionStatus.STOPPING, only_from=(ExecutionStatus.EXECUTING,)
        )
        if previous is not None:
            self._announce.execution(execution_id, ExecutionStatus.STOPPING, previous)
        owner = self._owner_of(execution_id)
        # Not started yet, or its process is gone: nobody will reach a step boundary, so stop it here.
        if self._runner.withdraw(execution_id) or not self._owner.alive(owner):
            stopped = self._registry.set_execution_status(
                execution_id,
                ExecutionStatus.STOPPED,
                only_from=(ExecutionStatus.STOPPING,),
                ended_at=self._clock.now(),
            )
            if stopped is not None:
                self._announce.execution(execution_id, ExecutionStatus.STOPPED, stopped)

    def _owner_of(self, execution_id: str) -> str:
        for eid, _pipeline, owner in self._registry.unfinished_executions():
            if eid == execution_id:
                return owner
        return ""

    def _execution_arn(self, execution_id: str) -> str:
        """Accept a full execution ARN or just its last part (what users copy from chat)."""
        if execution_id.startswith("arn:"):
            return execution_id
        return events.execution_arn(self._pipeline_name, execution_id.strip())
