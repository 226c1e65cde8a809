"""MLOPS_REQUIRED_APPROVALS and MLOPS_REQUIRED_APPROVAL_GROUPS: read at load, refused with why."""

from __future__ import annotations

import pytest

from bot.core.votes import ApprovalRule
from bot.settings import ConfigError, load_settings


def test_the_default_is_one_approval_from_anyone() -> None:
    assert load_settings().approval_rule == ApprovalRule(1, ())
    assert load_settings().approval_rule.single


def test_groups_are_handles_with_or_without_at(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLOPS_REQUIRED_APPROVALS", "3")
    monkeypatch.setenv("MLOPS_REQUIRED_APPROVAL_GROUPS", "@ml-approvers, risk")
    assert load_settings().approval_rule == ApprovalRule(3, ("ml-approvers", "risk"))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"mlops_required_approvals": 0},
            "MLOPS_REQUIRED_APPROVALS: must be a number of approvals from 1 to 5, not 0",
        ),
        (
            {"mlops_required_approvals": 6},
            "MLOPS_REQUIRED_APPROVALS: must be a number of approvals from 1 to 5, not 6",
        ),
        (
            {"mlops_required_approval_groups": "ml-approvers,risk"},
            "MLOPS_REQUIRED_APPROVAL_GROUPS names 2 groups, each needing an approver of its own, but "
            "MLOPS_REQUIRED_APPROVALS is 1: set it to 2 or more",
        ),
        (
            {"mlops_required_approvals": 2, "mlops_required_approval_groups": "Risk Team"},
            "'Risk Team' is not a Slack user group handle",
        ),
        (
            {"mlops_required_approvals": 2, "mlops_required_approval_groups": "risk,@risk"},
            "names a group twice: risk,risk",
        ),
    ],
)
def test_a_bad_rule_is_refused_at_load_with_why(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match="invalid configuration") as caught:
        load_settings(**values)
    assert message in str(caught.value)
