"""Progressive-delivery settings (rollout policy per environment, guardrail alarms, warm rollback): a
part of ``Settings``, which inherits every field, validator and property here."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.settings_governance import CsvList
from ml.durations import describe_duration, off_or_duration, read_duration
from ml.platform import ENVIRONMENTS, Environment
from ml.rollout_policy import RolloutPolicy, parse_rollout, read_seconds

#: Where no rollout is set: a canary on SageMaker (as its blue/green updates are usually run), at once
#: on the local platform, whose promotes are tried by hand (set MLOPS_PRODUCTION_ROLLOUT to see one).
DEFAULT_ROLLOUTS: dict[str, dict[Environment, str]] = {
    "sagemaker": {"staging": "all-at-once", "production": "canary 10% 5m"},
    "local": {"staging": "all-at-once", "production": "all-at-once"},
}
DEFAULT_BAKES = {"sagemaker": "5m", "local": "0s"}
WARM_ROLLBACK_MAX = timedelta(hours=24)


def _warm_window(text: str) -> timedelta:
    value = read_duration(text, units="mh")
    if value is None or value > WARM_ROLLBACK_MAX:
        raise ValueError(f"{text!r} is not a retention such as 30m or 2h (at most 24h)")
    return value


class RolloutSettings(BaseSettings):
    # Only ``Settings`` is instantiated: building this part's own validator too would cost every start.
    model_config = SettingsConfigDict(defer_build=True)

    mlops_staging_rollout: str = Field(
        "", description="How staging takes a new version: all-at-once, canary 10% 5m, linear 20% 2m."
    )
    mlops_production_rollout: str = Field(
        "",
        description="How production takes a promoted version (canary 10% 5m on SageMaker, all-at-once "
        "locally when empty); a releaser may override it per promote.",
    )
    mlops_rollout_bake: str = Field(
        "", description="Bake time with all traffic on the new fleet, old one still up (5m; 0s locally)."
    )
    mlops_rollout_timeout: str = Field("1h", description="Longest a rollout may take (10m to 8h).")
    mlops_rollback_alarms: CsvList = Field(
        default_factory=list,
        description="CloudWatch alarms that roll a rollout back (comma list; default MLOPS_ALARM_NAMES).",
    )
    mlops_warm_rollback: str = Field(
        "30m", description="How long the replaced production model stays warm at 0% weight (30m), or off."
    )

    @field_validator("mlops_rollback_alarms", mode="after")
    @classmethod
    def _alarm_count(cls, value: list[str]) -> list[str]:
        if len(value) > 10:  # AutoRollbackConfiguration takes at most 10
            raise ValueError(f"at most 10 rollback alarms, not {len(value)}")
        for name in value:
            if len(name) > 255:
                raise ValueError(f"alarm name {name[:40]!r}... is longer than 255 characters")
        return value

    @field_validator("mlops_rollout_timeout", mode="after")
    @classmethod
    def _timeout(cls, value: str) -> str:
        read_seconds(value, "MLOPS_ROLLOUT_TIMEOUT")
        return value.strip().lower()

    @field_validator("mlops_warm_rollback", mode="after")
    @classmethod
    def _warm(cls, value: str) -> str:
        return off_or_duration(value, _warm_window)

    @model_validator(mode="after")
    def _rollouts(self) -> RolloutSettings:
        for environment in ENVIRONMENTS:
            self.rollout_policy(environment)  # ValueError says what is wrong
        return self

    @property
    def _backend(self) -> str:
        return str(getattr(self, "mlops_backend", "local"))

    @property
    def rollout_bake_seconds(self) -> int:
        text = self.mlops_rollout_bake or DEFAULT_BAKES[self._backend]
        return read_seconds(text, "MLOPS_ROLLOUT_BAKE")

    @property
    def rollout_timeout_seconds(self) -> int:
        return read_seconds(self.mlops_rollout_timeout, "MLOPS_ROLLOUT_TIMEOUT")

    def rollout_policy(self, environment: Environment) -> RolloutPolicy:
        """The configured policy of ``environment``, with the bake and timeout settings."""
        text = self.mlops_staging_rollout if environment == "staging" else self.mlops_production_rollout
        text = text or DEFAULT_ROLLOUTS[self._backend][environment]
        try:
            return parse_rollout(
                text, bake_seconds=self.rollout_bake_seconds, timeout_seconds=self.rollout_timeout_seconds
            )
        except ValueError as exc:
            raise ValueError(f"MLOPS_{environment.upper()}_ROLLOUT: {exc}") from None

    def parse_rollout(self, text: str) -> RolloutPolicy:
        """A releaser's per-promote override, with the configured bake and timeout unless it names a bake."""
        return parse_rollout(
            text, bake_seconds=self.rollout_bake_seconds, timeout_seconds=self.rollout_timeout_seconds
        )

    @property
    def rollback_alarms(self) -> tuple[str, ...]:
        names = self.mlops_rollback_alarms or list(getattr(self, "mlops_alarm_names", []))
        return tuple(names)

    @property
    def warm_rollback(self) -> timedelta | None:
        return None if self.mlops_warm_rollback == "off" else _warm_window(self.mlops_warm_rollback)

    def describe_warm_rollback(self) -> str:
        window = self.warm_rollback
        return "off" if window is None else describe_duration(window)
