"""Every renderer of events from outside (GitHub, EventBridge, CI), fed hostile text in every field
the sender controls: every string of every payload is checked with ``assert_safe``."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.ingest.ci import CIIdentity, PipelineResult
from bot.ingest.github import DeploymentStatus, JobFailure, WorkflowRun
from bot.ingest.models import AlarmStateChange, EndpointDeploymentDetail
from handlers.events import render as events
from ml.platform import EndpointStatus, ExecutionStatus
from tests.handlers.escaping import (
    EXAMPLES,
    alarm_change,
    assert_safe,
    deployment_change,
    envs,
    maybe,
    moments,
    named,
    outside,
    payload,
    small,
    unescape,
    urls,
    versions,
)

# -- events from outside ----------------------------------------------------------------------------


@EXAMPLES
@given(
    run=st.builds(
        WorkflowRun,
        outside,
        versions,
        st.integers(1, 5),
        outside,
        outside,
        st.sampled_from(["requested", "in_progress", "completed"]) | outside,
        st.none() | st.sampled_from(["success", "failure", "timed_out"]) | outside,
        urls | outside,
        st.none() | versions,
        maybe,
        maybe,
        maybe,
        maybe,
        maybe,
    )
)
def test_github_workflow_run(run: WorkflowRun) -> None:
    assert_safe(payload(events.workflow_run(run)))


@EXAMPLES
@given(
    job=st.builds(
        JobFailure,
        outside,
        versions,
        outside,
        outside,
        st.none() | urls,
        st.none() | versions,
        maybe,
        small,
        maybe,
        st.sampled_from(["workflow_job", "check_run"]),
    )
)
def test_github_job_failure(job: JobFailure) -> None:
    assert_safe(payload(events.job_failure(job)))


@EXAMPLES
@given(
    status=st.builds(
        DeploymentStatus,
        outside,
        versions,
        st.sampled_from(["success", "failure", "error", "in_progress"]) | outside,
        outside,
        maybe,
        st.none() | urls,
        maybe,
        maybe,
        maybe,
    )
)
def test_github_deployment_status(status: DeploymentStatus) -> None:
    assert_safe(payload(events.deployment_status(status)))


alarms = st.builds(
    alarm_change,
    named,
    named,
    st.sampled_from(["ALARM", "OK"]) | named,
    maybe,
    maybe,
    st.none() | moments,
    maybe,
    outside,
    small,
    small,
)


@EXAMPLES
@given(alarm=alarms, serving=st.none() | versions)
def test_alarm_alert_pings_here_once_and_only_on_purpose(
    alarm: AlarmStateChange, serving: int | None
) -> None:
    message = events.alarm_alert(alarm, serving)
    assert_safe(payload(message), here=1)
    # escaped exactly once: what Slack shows is what the alarm said
    shown = unescape(message.text)
    assert f"Production alarm {alarm.alarm_name} is in ALARM" in shown
    assert not alarm.reason or shown.endswith(f": {alarm.reason}")


@EXAMPLES
@given(alarm=alarms)
def test_alarm_resolved(alarm: AlarmStateChange) -> None:
    assert_safe(payload(events.alarm_resolved(alarm)))


@EXAMPLES
@given(
    change=st.builds(
        deployment_change,
        named,
        st.none() | st.sampled_from(list(EndpointStatus)),
        outside,
        maybe,
        maybe,
        maybe,
        st.none() | moments,
        small,
    ),
    environment=envs,
    serving=st.none() | versions,
)
def test_deployment_failure(change: EndpointDeploymentDetail, environment: Any, serving: int | None) -> None:
    message = events.deployment_failure(change, environment, serving)
    assert_safe(payload(message))
    assert unescape(message.text).endswith(f"failed: {change.failure_reason or 'SageMaker gave no reason.'}")


@EXAMPLES
@given(
    arn=named,
    status=st.sampled_from(list(ExecutionStatus)),
    version=st.none() | versions,
    metrics=st.dictionaries(outside, st.floats(0, 1), max_size=3),
    reason=maybe,
    sha=st.none() | outside.map(lambda s: s[:64]),
    run_url=st.none() | urls.map(lambda s: s[:2000]),
    repository=outside,
    actor=st.none() | st.just("dana-k") | outside,
)
def test_ci_pipeline_result(
    arn: str,
    status: ExecutionStatus,
    version: int | None,
    metrics: dict[str, float],
    reason: str | None,
    sha: str | None,
    run_url: str | None,
    repository: str,
    actor: str | None,
) -> None:
    report = PipelineResult(
        kind="pipeline_result",
        execution_arn=arn[:2048],
        model_package_arn=None,
        status=status,
        version=version,
        metrics=metrics,
        failure_reason=reason,
        git_sha=sha,
        run_url=run_url,
    )
    assert_safe(payload(events.pipeline_result(report, CIIdentity(repository, "sub", actor=actor))))
