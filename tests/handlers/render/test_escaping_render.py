"""Every renderer of the bot's own messages, fed hostile outside text: every string of every payload
(``text`` and blocks) is checked with ``assert_safe``. Trusted values (Slack user ids, versions, enums)
stay trusted."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.core.models import (
    Action,
    Actor,
    ApprovalStatus,
    AuditEntry,
    AuditFilter,
    Decision,
    DeploymentRecord,
    Outcome,
    Result,
    Role,
    ValidationReport,
    VersionView,
)
from bot.core.service import PromotePlan, RollbackPlan, StatusView
from handlers.commands.ops import reply_for, safely
from handlers.commands.parse import SUBCOMMANDS, UsageError, parse_command
from handlers.render.audit import render_audit
from handlers.render.common import result_text
from handlers.render.confirmations import render_promote_confirmation, render_rollback_confirmation
from handlers.render.help import render_help
from handlers.render.help import render_usage_error as usage
from handlers.render.release_card import CardState, render_card
from handlers.render.run_message import render_run
from handlers.render.status import (
    render_environment,
    render_history,
    render_status,
)
from handlers.views.reject import reject_modal
from ml.platform import (
    EndpointInfo,
    EndpointStatus,
    Execution,
    ExecutionStatus,
    ModelPackage,
    ParameterSpec,
    PlatformError,
    StepInfo,
    StepStatus,
)
from tests.handlers.escaping import (
    EXAMPLES,
    T0,
    assert_safe,
    envs,
    maybe,
    moments,
    named,
    outside,
    payload,
    small,
    users,
    versions,
)

# -- strategies for the core's records -------------------------------------------------------------


@st.composite
def packages(draw: st.DrawFn) -> ModelPackage:
    lineage = {
        "requested_by": draw(users | outside),
        "threshold": draw(st.sampled_from(["0.8", "x"]) | outside),
        "git_sha": draw(outside),
        "dataset_sha256": draw(outside),
        "execution_id": draw(outside),
        "parameters": draw(st.dictionaries(outside, outside, max_size=3).map(json.dumps) | outside),
    }
    return ModelPackage(
        draw(versions),
        draw(outside),
        draw(outside),
        draw(st.sampled_from(list(ApprovalStatus))),
        T0,
        draw(maybe),
        {"accuracy": 0.87, "f1": 0.6},
        lineage=lineage,
    )


@st.composite
def version_views(draw: st.DrawFn) -> VersionView:
    package = draw(packages())
    decision = Decision(
        package.version,
        draw(st.sampled_from([ApprovalStatus.APPROVED, ApprovalStatus.REJECTED])),
        draw(users | outside),
        draw(outside),
        T0,
        draw(outside),
    )
    validation = ValidationReport(
        package.version, "staging", draw(st.booleans()), T0, draw(outside), draw(outside)
    )
    return VersionView(
        package,
        draw(st.none() | st.just(decision)),
        draw(st.none() | st.just(validation)),
        draw(st.lists(envs, max_size=2, unique=True).map(tuple)),
        {"accuracy": 0.86},
        draw(st.none() | versions),
    )


@st.composite
def records(draw: st.DrawFn) -> DeploymentRecord:
    return DeploymentRecord(
        draw(envs),
        draw(versions),
        draw(st.none() | versions),
        draw(users | outside),
        draw(outside),
        draw(moments),
        draw(st.sampled_from(["deploy", "promote", "rollback"])),
    )


@st.composite
def endpoints(draw: st.DrawFn) -> EndpointInfo:
    return EndpointInfo(
        draw(envs),
        draw(outside),
        draw(st.sampled_from(list(EndpointStatus))),
        draw(st.none() | versions),
        T0,
        draw(maybe),
    )


@st.composite
def executions(draw: st.DrawFn) -> Execution:
    steps = draw(
        st.lists(
            st.builds(StepInfo, named, st.sampled_from(list(StepStatus)), st.just(T0), st.none(), maybe),
            max_size=4,
        )
    )
    return Execution(
        draw(outside),
        draw(st.sampled_from(list(ExecutionStatus))),
        draw(st.dictionaries(outside, outside, max_size=3)),
        draw(users | outside),
        draw(maybe),
        T0,
        draw(st.none() | st.just(T0 + timedelta(minutes=3))),
        draw(maybe),
        tuple(steps),
        draw(st.none() | versions),
    )


@st.composite
def results(draw: st.DrawFn) -> Result:
    action = draw(st.sampled_from(list(Action)))
    data: dict[str, Any] = {}
    if action is Action.VALIDATE:
        data = {
            "passed": draw(st.booleans()),
            "report": {"checks": [{"name": draw(outside), "passed": False}]},
        }
    actor = Actor(draw(users | outside), draw(outside), system=draw(st.booleans()))
    return Result(
        action, draw(st.sampled_from(list(Outcome))), draw(outside), actor, draw(versions), draw(envs), data
    )


# -- the bot's own renderers ----------------------------------------------------------------------


@EXAMPLES
@given(view=version_views(), deployments=st.lists(records(), max_size=4), rollback=st.none() | versions)
def test_release_card(view: VersionView, deployments: list[DeploymentRecord], rollback: int | None) -> None:
    assert_safe(payload(render_card(CardState(view, deployments, rollback))))


@EXAMPLES
@given(execution=executions())
def test_run_message(execution: Execution) -> None:
    assert_safe(payload(render_run(execution, now=T0 + timedelta(hours=1))))


@EXAMPLES
@given(
    environments=st.lists(endpoints(), max_size=2),
    views=st.lists(version_views(), max_size=3),
    runs=st.lists(executions(), max_size=3),
)
def test_status(environments: list[EndpointInfo], views: list[VersionView], runs: list[Execution]) -> None:
    assert_safe(payload(render_status(StatusView(tuple(environments), tuple(views), tuple(runs)))))


@EXAMPLES
@given(info=endpoints(), history=st.lists(records(), max_size=6))
def test_environment(info: EndpointInfo, history: list[DeploymentRecord]) -> None:
    assert_safe(payload(render_environment(info, history)))


@EXAMPLES
@given(environment=outside, history=st.lists(records(), max_size=6))
def test_history(environment: str, history: list[DeploymentRecord]) -> None:
    assert_safe(payload(render_history(environment, history)))


@EXAMPLES
@given(
    entries=st.lists(
        st.builds(
            AuditEntry,
            moments,
            users | outside,
            outside,
            st.sampled_from(list(Action)),
            st.sampled_from(list(Outcome)),
            outside,
            outside,
            st.none() | versions,
        ),
        max_size=8,
    ),
    who=st.none() | users | outside,
)
def test_audit(entries: list[AuditEntry], who: str | None) -> None:
    assert_safe(payload(render_audit(entries)))
    assert_safe(payload(render_audit(entries, AuditFilter(actor=who))))


@EXAMPLES
@given(plan=st.builds(RollbackPlan, envs, versions, versions, outside))
def test_rollback_confirmation(plan: RollbackPlan) -> None:
    assert_safe(payload(render_rollback_confirmation(plan)))


@EXAMPLES
@given(plan=st.builds(PromotePlan, versions, st.none() | versions, outside))
def test_promote_confirmation(plan: PromotePlan) -> None:
    assert_safe(payload(render_promote_confirmation(plan)))


@EXAMPLES
@given(
    actions=st.lists(st.sampled_from(list(Action)), unique=True),
    roles=st.frozensets(st.sampled_from(list(Role))),
    specs=st.lists(
        st.builds(
            ParameterSpec,
            named,
            st.sampled_from(["string", "integer", "float"]),
            outside,
            outside,
            st.none() | st.floats(-10, 10),
            st.none() | st.floats(-10, 10),
            small,
        ),
        max_size=4,
    ),
    note=outside,
)
def test_help(actions: list[Action], roles: frozenset[Role], specs: list[ParameterSpec], note: str) -> None:
    message = render_help(actions, roles, {s.name: s for s in specs}, note)
    assert_safe(payload(message))


@EXAMPLES
@given(sub=st.sampled_from([*SUBCOMMANDS, "deplyo", "nonsense"]), args=outside, spec_name=named)
def test_usage_errors_echo_what_was_typed_escaped(sub: str, args: str, spec_name: str) -> None:
    specs = {
        "max_depth": ParameterSpec("max_depth", "integer", 6, minimum=1, maximum=16),
        "objective": ParameterSpec(
            "objective", "string", "binary:logistic", choices=("binary:logistic", spec_name)
        ),
    }
    try:
        parse_command(f"{sub} {args}", specs)
    except UsageError as error:
        assert_safe(payload(usage(error)))


@EXAMPLES
@given(result=results())
def test_results_and_replies(result: Result) -> None:
    assert_safe({"text": result_text(result)})
    assert_safe(payload(reply_for(result)))


@EXAMPLES
@given(what=outside, problem=outside)
def test_failures_reported_to_the_user(what: str, problem: str) -> None:
    def platform_failure() -> Any:
        raise PlatformError(problem)

    def crash() -> Any:
        raise RuntimeError(problem)

    assert_safe(payload(safely(what, platform_failure)))
    assert_safe(payload(safely(what, crash)))


@EXAMPLES
@given(version=versions, channel=st.sampled_from(["C0MLOPS", "", "G012AB3CD"]))
def test_reject_modal(version: int, channel: str) -> None:
    assert_safe(reject_modal(version, channel))
