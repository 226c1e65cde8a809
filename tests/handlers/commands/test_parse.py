"""The pure ``/mlops`` parser: typed commands, and usage errors that say how to fix the input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.models import Action, AuditFilter
from handlers.commands.parse import (
    Approve,
    Audit,
    Deploy,
    Help,
    History,
    Promote,
    Reject,
    Rollback,
    Status,
    Stop,
    Train,
    UsageError,
    Validate,
    parse_command,
    subcommand_action,
)
from ml.platform import ParameterSpec

SPECS = {
    "max_depth": ParameterSpec("max_depth", "integer", 5, minimum=1, maximum=16),
    "eta": ParameterSpec("eta", "float", 0.2, minimum=0.001, maximum=1.0),
    "ModelApprovalStatus": ParameterSpec(
        "ModelApprovalStatus",
        "string",
        "PendingManualApproval",
        choices=("PendingManualApproval", "Approved"),
    ),
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Help()),
        ("help", Help()),
        ("HELP", Help()),
        ("train", Train({})),
        ("train max_depth=3 eta=0.1", Train({"max_depth": "3", "eta": "0.1"})),
        ("status", Status()),
        ("status v3", Status(version=3)),
        ("status V3", Status(version=3)),
        ("status 3", Status(version=3)),
        ("status Production", Status(environment="production")),
        ("approve v3", Approve(3, "")),
        ("approve 3 metrics look right", Approve(3, "metrics look right")),
        ("reject V4 leaks the label", Reject(4, "leaks the label")),
        ("deploy v3 staging", Deploy(3, "staging")),
        ("validate", Validate()),
        ("validate v2", Validate(2)),
        ("promote v3", Promote(3)),
        ("promote 3 production", Promote(3)),
        ("rollback production", Rollback("production")),
        ("rollback staging v2", Rollback("staging", 2)),
        ("history staging", History("staging")),
        ("audit", Audit(20)),
        ("audit 100", Audit(100)),
        ("audit 50 v3", Audit(50, AuditFilter(version=3))),
        ("audit version:3", Audit(20, AuditFilter(version=3))),
        ("audit <@UBOB|bob>", Audit(20, AuditFilter(actor="UBOB"))),
        ("audit <@UBOB>", Audit(20, AuditFilter(actor="UBOB"))),
        ("audit @bob", Audit(20, AuditFilter(actor="bob"))),
        ("audit by:bob", Audit(20, AuditFilter(actor="bob"))),
        ("audit approve", Audit(20, AuditFilter(action=Action.APPROVE))),
        ("audit action:Approve", Audit(20, AuditFilter(action=Action.APPROVE))),
        ("audit validate", Audit(20, AuditFilter(action=Action.VALIDATE))),
        ("audit deploy @carol 5 V2", Audit(5, AuditFilter(2, "carol", Action.DEPLOY))),
        (
            "stop arn:aws:sagemaker:us-east-1:1:pipeline/p/execution/abc",
            Stop("arn:aws:sagemaker:us-east-1:1:pipeline/p/execution/abc"),
        ),
    ],
)
def test_valid_commands(text: str, expected: object) -> None:
    assert parse_command(text, SPECS) == expected


@pytest.mark.parametrize(
    ("text", "problem", "suggestion"),
    [
        ("stauts", "is not an `/mlops` command", "/mlops status"),
        ("aprove v3", "is not an `/mlops` command", "/mlops approve v3"),
        ("approve x3", "is not a model version", "/mlops approve v3"),
        ("approve v0", "is not a model version", None),
        ("reject v3", "needs a reason", "/mlops reject v3 <why it is rejected>"),
        ("rollback prod", "is not an environment", "/mlops rollback production"),
        ("rollback prod v2", "is not an environment", "/mlops rollback production v2"),
        ("deploy v3 production", "reached with `promote`", "/mlops promote v3"),
        ("deploy v3 stagign", "is not an environment", "/mlops deploy v3 staging"),
        ("train max_dept=3", "Unknown training parameter `max_dept`", "/mlops train max_depth=3"),
        ("train max_depth=abc", "must be a whole number", None),
        ("train max_depth=99", "at most 16", None),
        ("train eta=nan", "finite", None),
        ("train ModelApprovalStatus=aproved", "must be one of", "/mlops train ModelApprovalStatus=Approved"),
        ("train max_depth", "is not a `key=value` pair", "/mlops train max_depth=<value>"),
        ("train eta=0.1 eta=0.2", "given twice", None),
        ("audit 0", "from 1 to 100", None),
        ("audit 101", "from 1 to 100", None),
        (
            "audit aprove",
            "Valid actions: status, history, audit, drift, train, stop, approve,",
            "/mlops audit approve",
        ),
        ("audit action:launch", "is not an action the audit log records", None),
        ("audit help", "is not an action the audit log records", None),
        ("audit v0", "is not a model version", None),
        ("audit version:three", "is not a model version", None),
        ("audit v2x", "is not a model version", "/mlops audit v2"),
        ("audit 5 10", "give one count at most", None),
        ("audit v2 v3", "give one version at most", None),
        ("audit @bob <@UCAROL>", "give one person at most", None),
        ("audit approve deploy", "give one action at most", None),
        ("audit @", "is not a person", None),
        ("audit @<!channel>", "is not a person", None),
        ("history", "needs more arguments", None),
        ("history staging production", "does not take", None),
        ("stop", "needs more arguments", None),
        ("status v3 extra", "does not take", None),
    ],
)
def test_usage_errors_name_the_problem_and_closest_form(
    text: str, problem: str, suggestion: str | None
) -> None:
    with pytest.raises(UsageError) as info:
        parse_command(text, SPECS)
    assert problem in str(info.value)
    assert info.value.suggestion == suggestion
    if info.value.suggestion:
        assert f"Did you mean `{suggestion}`?" in str(info.value)


def test_unknown_parameter_lists_valid_names() -> None:
    with pytest.raises(UsageError) as info:
        parse_command("train depth=3", SPECS)
    assert "`eta`" in str(info.value) and "`max_depth`" in str(info.value)


def test_subcommand_action_is_the_first_word_only() -> None:
    assert subcommand_action("approve garbage here") is Action.APPROVE
    assert subcommand_action("ROLLBACK") is Action.ROLLBACK
    assert subcommand_action("") is Action.HELP
    assert subcommand_action("nope") is None


def test_overlong_text_is_refused() -> None:
    with pytest.raises(UsageError, match="limit is"):
        parse_command("status " + "x" * 5000)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_parser_only_ever_returns_a_command_or_raises_usage_error(text: str) -> None:
    try:
        command = parse_command(text, SPECS)
    except UsageError as exc:
        message = str(exc)
        assert message
        assert "\x00" not in message
        return
    assert command.action in set(Action)
