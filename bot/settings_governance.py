"""The release-governance settings (approvals, expiry, freezes, promotion rules): a part of ``Settings``.

Kept apart so that ``bot.settings`` stays readable; ``Settings`` inherits every field, validator and
property here, and the README's configuration reference lists them with the rest.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.approval_settings import (
    APPROVALS_MAX,
    APPROVALS_MIN,
    ApprovalGroups,
    ApprovalRule,
    RequiredApprovals,
    approval_rule,
)
from bot.core.expiry import parse_duration, reminder_leads, ttl_setting
from bot.freeze_settings import FreezeWindowsText
from ml.evidence.rules import DEFAULT_RULES as DEFAULT_PROMOTION_RULES
from ml.evidence.rules import Rule, parse_rules


def split_csv(value: Any) -> Any:
    """``"a, b,,c"`` as ``["a", "b", "c"]``; a list (from JSON, or given in code) as it is."""
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


#: A setting written as a comma list in the environment.
CsvList = Annotated[list[str], NoDecode, BeforeValidator(split_csv)]


class GovernanceSettings(BaseSettings):
    # Only ``Settings`` is instantiated: building this part's own validator too would cost every start.
    model_config = SettingsConfigDict(defer_build=True)

    # approval expiry and reminders
    mlops_approval_ttl: str = Field(
        "off", description="How long a pending version may be approved (72h, 30m, 10s), or off."
    )
    mlops_approval_reminders: CsvList = Field(
        default_factory=list, description="Reminders to the approvers, that long before expiry (24h,4h)."
    )

    @field_validator("mlops_approval_ttl", mode="after")
    @classmethod
    def _approval_ttl(cls, value: str) -> str:
        return ttl_setting(value)

    @model_validator(mode="after")
    def _approval_reminders(self) -> GovernanceSettings:
        reminder_leads(self.approval_ttl, self.mlops_approval_reminders)  # ValueError: says what is wrong
        return self

    @property
    def approval_ttl(self) -> timedelta | None:
        return None if self.mlops_approval_ttl == "off" else parse_duration(self.mlops_approval_ttl)

    @property
    def approval_reminders(self) -> tuple[timedelta, ...]:
        """The reminders' leads before expiry, longest first."""
        return reminder_leads(self.approval_ttl, self.mlops_approval_reminders)

    # -- N-of-M approvals ------------------------------------------------------------
    mlops_required_approvals: RequiredApprovals = Field(
        1, description=f"Approvals a version needs ({APPROVALS_MIN}-{APPROVALS_MAX}); requesters never count."
    )
    mlops_required_approval_groups: ApprovalGroups = Field(
        default_factory=list, description="User group handles each needing an approval from a member."
    )

    @model_validator(mode="after")
    def _approval_rule(self) -> GovernanceSettings:
        self.approval_rule  # noqa: B018 - ValueError when the groups outnumber the approvals
        return self

    @property
    def approval_rule(self) -> ApprovalRule:
        return approval_rule(self.mlops_required_approvals, self.mlops_required_approval_groups)

    # -- change freezes and break-glass ---------------------------------------------
    mlops_freeze_windows: FreezeWindowsText = Field(
        "",
        description="Recurring freezes, e.g. 'production: Fri 17:00 - Mon 08:00 Europe/Paris; "
        "staging: daily 22:00 - 06:00 UTC'.",
    )
    mlops_releasers_group_id: str = Field(
        "", description="Slack user group ID (S...) of the releasers, mentioned when someone breaks glass."
    )

    # -- evidence on the card: the promotion rules each version is judged by -----------
    mlops_promotion_rules: str = Field(
        DEFAULT_PROMOTION_RULES,
        description="Rules a version's metrics are judged by on its card, ';'-separated: "
        "'metric op bound', bound a number or champion ± a number.",
    )

    @field_validator("mlops_promotion_rules", mode="after")
    @classmethod
    def _promotion_rules(cls, value: str) -> str:
        parse_rules(value)  # RuleError (a ValueError) names the bad rule and the valid metrics
        return value

    @property
    def promotion_rules(self) -> tuple[Rule, ...]:
        return parse_rules(self.mlops_promotion_rules)
