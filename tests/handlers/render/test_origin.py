"""Where a run or version comes from, on run messages and release cards: commit, logs and links."""

from __future__ import annotations

import json
from dataclasses import replace

from bot.core.models import ApprovalStatus
from handlers.render.origin import git_line, logs_line
from handlers.render.release_card import CardState, render_card
from handlers.render.run_message import render_run
from ml.platform import Execution, ExecutionStatus
from tests.handlers.render.test_render import T0, view

SHA = "4f9c1e27d3b8a6f0e5c2d1b0a9f8e7d6c5b4a321"
PACKAGE_ARN = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/mlops-xgboost/3"


def text_of(blocks: list[dict[str, object]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_git_line_short_sha_dirty_state_or_reason() -> None:
    assert git_line({"git_sha": SHA, "git_dirty": "false"}) == "`4f9c1e27d3b8`"
    assert git_line({"git_sha": SHA, "git_dirty": "true"}) == "`4f9c1e27d3b8` (uncommitted changes)"
    assert git_line({"git_sha": "", "git_state": "not a git checkout"}) == "not a git checkout"
    assert git_line({"git_state": "<!channel> git not installed"}) == "&lt;!channel&gt; git not installed"
    assert git_line({}) == "not recorded"  # a SageMaker run started without a commit


def test_logs_line_only_for_a_path_inside_the_home() -> None:
    assert logs_line({"logs": "logs/runs/abc.log"}) == "*Logs* `logs/runs/abc.log`"
    assert logs_line({"logs": "/home/alice/.mlops/logs/runs/abc.log"}) == ""
    assert logs_line({"logs": "../../etc/passwd"}) == ""
    assert logs_line({}) == ""


def local_lineage(**extra: str) -> dict[str, str]:
    return {
        "requested_by": "UALICE",
        "threshold": "0.8",
        "execution_id": "arn:aws:sagemaker:local:000000000000:pipeline/p/execution/abc123",
        "git_sha": "",
        "git_dirty": "false",
        "git_state": "not a git checkout",
        "logs": "logs/runs/abc123.log",
        **extra,
    }


def test_a_local_card_says_why_there_is_no_commit_shows_its_logs_and_no_console_links() -> None:
    _text, blocks = render_card(CardState(view(lineage=local_lineage()), endpoint_names={}))
    body = text_of(blocks)
    assert "*Git* not a git checkout" in body and "*Git* not recorded" not in body
    assert "*Logs* `logs/runs/abc123.log`" in body
    assert "console.aws.amazon.com" not in body  # local ARNs name the region "local": no console


def test_a_local_card_with_a_dirty_checkout() -> None:
    lineage = local_lineage(git_sha=SHA, git_dirty="true", git_state="checkout")
    _text, blocks = render_card(CardState(view(lineage=lineage)))
    assert "*Git* `4f9c1e27d3b8` (uncommitted changes)" in text_of(blocks)


def test_a_sagemaker_card_links_the_registry_and_each_endpoint_it_serves_and_its_logs() -> None:
    v = view(status=ApprovalStatus.APPROVED, envs=("staging", "production"))
    v = replace(v, package=replace(v.package, arn=PACKAGE_ARN))
    names = {"staging": "mlops-xgboost-staging", "production": "mlops-xgboost-production"}
    _text, blocks = render_card(CardState(v, endpoint_names=names))
    body = text_of(blocks)
    console = "https://eu-west-1.console.aws.amazon.com"
    assert (
        f"<{console}/sagemaker/home?region=eu-west-1#/model-registry/mlops-xgboost/details|Model registry>"
        in body
    )
    assert (
        f"<{console}/sagemaker/home?region=eu-west-1#/endpoints/mlops-xgboost-production|production endpoint>"
        in body
    )
    assert (
        f"<{console}/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/"
        "$252Faws$252Fsagemaker$252FEndpoints$252Fmlops-xgboost-staging|staging endpoint logs>"
    ) in body
    assert "*Logs*" not in body  # no local log file on SageMaker


def test_a_card_leaves_out_links_it_cannot_build_from_checked_parts() -> None:
    v = view(status=ApprovalStatus.APPROVED, envs=("staging",))
    v = replace(
        v, package=replace(v.package, arn="arn:aws-cn:sagemaker:cn-north-1:123456789012:model-package/g/3")
    )
    _text, blocks = render_card(CardState(v, endpoint_names={"staging": "javascript:alert(1)"}))
    body = text_of(blocks)
    assert "*Links*" not in body and "javascript" not in body


def run(origin: dict[str, str], git_sha: str | None = None) -> Execution:
    return Execution(
        "arn:aws:sagemaker:local:000000000000:pipeline/p/execution/abc123",
        ExecutionStatus.EXECUTING,
        {},
        "UALICE",
        git_sha,
        T0,
        origin=origin,
    )


def test_a_local_run_message_shows_commit_state_and_the_relative_log_path() -> None:
    origin = {"git_state": "checkout", "git_dirty": "true", "logs": "logs/runs/abc123.log"}
    _text, blocks = render_run(run(origin, SHA))
    body = text_of(blocks)
    assert "git `4f9c1e27d3b8` (uncommitted changes)" in body
    assert "*Logs* `logs/runs/abc123.log`" in body
    _text, blocks = render_run(run({"git_state": "not a git checkout", "logs": "logs/runs/abc123.log"}))
    assert "git not a git checkout" in text_of(blocks)


def test_a_run_started_by_ci_links_its_actions_run_from_checked_parts_only() -> None:
    _text, blocks = render_run(run({"ci_repository": "octo/ml", "ci_run": "9876543210"}, SHA))
    assert "<https://github.com/octo/ml/actions/runs/9876543210|CI run>" in text_of(blocks)
    for bad in (
        {"ci_repository": "javascript:alert(1)//", "ci_run": "1"},
        {"ci_repository": "octo/ml", "ci_run": "https://evil.example/actions/runs/1"},
        {"ci_repository": "evil.example/x/y", "ci_run": "1"},
    ):
        body = text_of(render_run(run(bad, SHA))[1])
        assert "CI run" not in body and "javascript" not in body and "evil.example" not in body
