"""How MLOPS_REQUIRED_APPROVALS and MLOPS_REQUIRED_APPROVAL_GROUPS are read and checked."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator
from pydantic_settings import NoDecode

from bot.core.votes import ApprovalRule

__all__ = [
    "APPROVALS_MAX",
    "APPROVALS_MIN",
    "ApprovalGroups",
    "ApprovalRule",
    "RequiredApprovals",
    "approval_rule",
]

APPROVALS_MIN, APPROVALS_MAX = 1, 5
#: A Slack user group handle.
_HANDLE = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}")


def _required(value: int) -> int:
    if not APPROVALS_MIN <= value <= APPROVALS_MAX:
        raise ValueError(
            f"must be a number of approvals from {APPROVALS_MIN} to {APPROVALS_MAX}, not {value}"
        )
    return value


def _groups(value: Any) -> Any:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list):
        return value
    groups = [str(g).strip().lstrip("@") for g in value]
    for handle in groups:
        if not _HANDLE.fullmatch(handle):
            raise ValueError(
                f"{handle!r} is not a Slack user group handle (lower-case letters, digits, '-', '_' and "
                "'.'); list handles like ml-approvers,risk"
            )
    if len(set(groups)) != len(groups):
        raise ValueError(f"names a group twice: {','.join(groups)}")
    return groups


RequiredApprovals = Annotated[int, AfterValidator(_required)]
ApprovalGroups = Annotated[list[str], NoDecode, BeforeValidator(_groups)]


def approval_rule(required: int, groups: list[str]) -> ApprovalRule:
    """The rule; ValueError when the groups need more distinct approvers than ``required``."""
    if len(groups) > required:
        raise ValueError(
            f"MLOPS_REQUIRED_APPROVAL_GROUPS names {len(groups)} groups, each needing an approver of its "
            f"own, but MLOPS_REQUIRED_APPROVALS is {required}: set it to {len(groups)} or more, or name "
            "fewer groups"
        )
    return ApprovalRule(required, tuple(groups))
