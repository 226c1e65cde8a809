"""Configuration from the environment (and ``.env``), validated at start-up.

Field names are the environment variable names, lower-cased: ``SLACK_BOT_TOKEN``
is ``slack_bot_token``. The README's configuration reference lists every field.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import SettingsConfigDict

from bot.core.identity import IdentityMap, role_of_arn
from bot.core.models import Role
from bot.settings_governance import CsvList, GovernanceSettings
from bot.settings_rollout import RolloutSettings
from ml.durations import off_or_duration

#: Bounds of MLOPS_VALIDATION_ROWS: fewer rows say little about accuracy (the 95 % interval is about
#: ±0.1 at 50), more make a validation run long without narrowing it much further.
VALIDATION_ROWS_MIN, VALIDATION_ROWS_MAX = 50, 20_000

#: Upper bound of MLOPS_CAPTURE_MAX_MB (100 GB): a larger figure is more likely a unit mistake.
CAPTURE_MAX_MB = 100_000

#: What a person's entry in MLOPS_PEOPLE may list.
IDENTITY_KINDS = ("slack", "github", "aws", "groups")

DEFAULT_ROLES: dict[str, list[str]] = {
    "trainer": ["ml-team"],
    "approver": ["ml-approvers"],
    "releaser": ["ml-leads"],
    "oncall": ["ml-oncall"],
}


class ConfigError(Exception):
    """A missing or invalid setting; the message names it."""


class Settings(GovernanceSettings, RolloutSettings):
    # built at once (its parts defer theirs): every process reads its settings at start-up
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", case_sensitive=False, defer_build=False
    )

    # -- Slack ---------------------------------------------------------------
    slack_bot_token: SecretStr | None = Field(None, description="Bot token (xoxb-...).")
    slack_signing_secret: SecretStr | None = Field(None, description="Signing secret of the Slack app.")
    slack_app_token: SecretStr | None = Field(None, description="App-level token (xapp-...) for Socket Mode.")
    slack_api_url: str = Field("https://slack.com/api/", description="Base URL of the Slack Web API.")
    mlops_channel: str = Field("#mlops", description="Channel ID or name where notifications go.")

    # -- release policy ---------------------------------------------------------
    mlops_backend: Literal["local", "sagemaker"] = Field(
        "local", description="ML platform: local or sagemaker."
    )
    mlops_roles: dict[Role, list[str]] = Field(
        default_factory=lambda: {Role(k): v for k, v in DEFAULT_ROLES.items()},
        description="JSON: role -> list of Slack user group handles.",
    )
    mlops_four_eyes: bool = Field(
        True, description="Whoever requested a training run cannot approve its model."
    )
    mlops_people: dict[str, dict[str, list[str]]] = Field(
        default_factory=dict,
        description='JSON: person -> {"slack": [ids], "github": [logins], "aws": [ARNs], "groups": [...]}.',
    )
    mlops_allow_unmapped: bool = Field(
        False, description="Let people missing from MLOPS_PEOPLE approve (four-eyes then compares ids)."
    )
    mlops_ci_role_arns: CsvList = Field(
        default_factory=list, description="IAM roles CI assumes with OIDC (comma list)."
    )
    mlops_auto_deploy_staging: bool = Field(True, description="Deploy to staging (and validate) on approval.")
    mlops_auto_approve: bool = Field(
        False, description="Approve every newly registered version as mlops-bot (audited, on the card)."
    )
    mlops_min_accuracy_threshold: float = Field(
        0.8, ge=0.0, le=1.0, description="Lowest AccuracyThreshold a training run may ask for."
    )
    mlops_drift_schedule: str = Field(
        "1h",
        description=(
            "How often `serve` and `shell` check production's captured traffic for drift "
            "(30m, 1h, 1d; `off` or 0: never). A drift card is posted while it lasts."
        ),
    )
    mlops_validation_rows: int = Field(
        200,
        description=(
            f"Held-out rows staging validation sends ({VALIDATION_ROWS_MIN}-{VALIDATION_ROWS_MAX}; "
            "more rows, a narrower accuracy interval, a longer run)."
        ),
    )
    mlops_group_cache_seconds: int = Field(
        300, ge=0, le=86400, description="TTL of cached user-group members."
    )
    mlops_group_max_stale_seconds: int = Field(
        900,
        ge=0,
        le=86400,
        description="How long past the TTL cached roles serve while Slack is silent.",
    )
    mlops_group_api_timeout_seconds: int = Field(
        2, ge=1, le=30, description="Timeout of Slack's user-group API calls, in seconds."
    )

    # -- state --------------------------------------------------------------------
    mlops_home: Path = Field(Path(".mlops"), description="Data directory of the local platform and store.")
    mlops_data_dir: Path | None = Field(
        None, description="Directory InputData files may come from (default MLOPS_HOME/data)."
    )
    mlops_store: Literal["sqlite", "dynamodb"] = Field("sqlite", description="Where the bot keeps its state.")
    mlops_store_path: Path | None = Field(None, description="SQLite file (default MLOPS_HOME/bot.db).")
    mlops_dynamodb_table: str = Field("mlops-bot", description="DynamoDB table when MLOPS_STORE=dynamodb.")
    mlops_max_queued_runs: int = Field(
        8, ge=1, le=1000, description="Local platform: training runs queued or running at once."
    )
    mlops_max_runs_per_user: int = Field(
        2, ge=1, le=100, description="Local platform: training runs queued or running per person."
    )
    mlops_capture_percent: int = Field(
        100, description="Share of endpoint invocations captured for the drift check, 0-100 (0: off)."
    )
    mlops_capture_max_mb: int = Field(
        200,
        description=f"Local platform: bound on MLOPS_HOME/capture in MB (1-{CAPTURE_MAX_MB}).",
    )

    # -- ML platform names ------------------------------------------------------------
    mlops_pipeline_name: str = Field("mlops-xgboost-pipeline", description="SageMaker pipeline name.")
    mlops_model_package_group: str = Field("mlops-xgboost", description="Model package group name.")
    mlops_staging_endpoint: str = Field("", description="Staging endpoint name (default <group>-staging).")
    mlops_production_endpoint: str = Field(
        "", description="Production endpoint name (default <group>-production)."
    )

    # -- SageMaker (MLOPS_BACKEND=sagemaker) --------------------------------------
    aws_region: str = Field("us-east-1", description="AWS region of SageMaker and the bot's resources.")
    sagemaker_role_arn: str = Field("", description="SageMaker execution role ARN (models, pipelines).")
    mlops_input_data: str = Field("", description="The pipeline's default InputData (s3:// URI).")
    mlops_allowed_input_prefixes: CsvList = Field(
        default_factory=list,
        description="s3:// prefixes InputData may name (default: MLOPS_INPUT_DATA's bucket).",
    )
    mlops_staging_instance_type: str = Field("ml.m5.large", description="Staging endpoint instance type.")
    mlops_staging_instance_count: int = Field(1, ge=1, le=100, description="Staging endpoint instances.")
    mlops_production_instance_type: str = Field("ml.m5.xlarge", description="Production instance type.")
    mlops_production_instance_count: int = Field(2, ge=1, le=100, description="Production instances.")
    mlops_data_capture_s3_uri: str = Field(
        "", description="S3 URI where staging and production endpoints capture invocations (empty: off)."
    )
    mlops_autoscaling_min: int = Field(2, ge=1, le=100, description="Production autoscaling minimum.")
    mlops_autoscaling_max: int = Field(10, ge=1, le=100, description="Production autoscaling maximum.")
    mlops_model_monitor: bool = Field(False, description="Schedule Model Monitor data quality on production.")
    mlops_model_monitor_output_s3_uri: str = Field("", description="S3 URI for Model Monitor reports.")
    mlops_aws_retry_mode: Literal["standard", "adaptive"] = Field("standard", description="botocore retries.")
    mlops_aws_max_attempts: int = Field(5, ge=1, le=20, description="botocore attempts per AWS call.")

    # -- incoming events ------------------------------------------------------------
    events_token: SecretStr | None = Field(
        None, description="Bearer token of the EventBridge API destination."
    )
    github_webhook_secret: SecretStr | None = Field(None, description="Secret of the GitHub webhook.")
    github_repositories: CsvList = Field(
        default_factory=list, description="owner/repo announced (comma list)."
    )
    github_workflows: CsvList = Field(
        default_factory=list, description="Workflow names announced (empty: all)."
    )
    ci_oidc_issuer: str = Field(
        "https://token.actions.githubusercontent.com", description="OIDC issuer of CI."
    )
    ci_oidc_jwks_url: str = Field("", description="JWKS URL override (default <issuer>/.well-known/jwks).")
    ci_oidc_audience: str = Field("mlops-bot", description="Audience CI tokens must carry.")
    ci_allowed_repositories: CsvList = Field(
        default_factory=list, description="Repositories CI may report from."
    )
    ci_allowed_refs: CsvList = Field(
        default_factory=list, description="Refs CI may report from (empty: any)."
    )
    ci_allowed_environments: CsvList = Field(default_factory=list, description="Environments (empty: any).")
    mlops_alarm_names: CsvList = Field(
        default_factory=list, description="CloudWatch alarms that page about production (comma list)."
    )

    # -- HTTP limits (every route and runtime; checked while reading, before authentication) --
    mlops_max_body_bytes: int = Field(
        1_000_000, ge=1024, le=10_000_000, description="Largest request body any route reads."
    )
    mlops_body_timeout_seconds: float = Field(
        10.0, gt=0, le=300, description="Time allowed for a request body to arrive."
    )
    mlops_header_timeout_seconds: float = Field(
        10.0, gt=0, le=300, description="Time allowed for request headers to arrive."
    )
    mlops_max_connections: int = Field(
        1000, ge=1, le=100_000, description="Open HTTP connections; more are closed at once."
    )

    @field_validator("mlops_roles", mode="before")
    @classmethod
    def _roles(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"must be JSON like {json.dumps(DEFAULT_ROLES)}: {exc.msg}") from exc
        if not isinstance(value, dict):
            raise ValueError("must be a JSON object mapping a role to a list of user group handles")
        unknown = set(map(str, value)) - {r.value for r in Role}
        if unknown:
            raise ValueError(f"unknown role(s) {sorted(unknown)}; valid roles: {[r.value for r in Role]}")
        for role, handles in value.items():
            if not isinstance(handles, list) or not all(isinstance(h, str) for h in handles):
                raise ValueError(f"role {role!r} must map to a list of user group handles")
        return {k: [h.lstrip("@") for h in v] for k, v in value.items()}

    @field_validator("mlops_people", mode="before")
    @classmethod
    def _people(cls, value: Any) -> Any:
        example = '{"alice": {"slack": ["U0123ABCD"], "github": ["alice"], "aws": ["arn:aws:sts::…"]}}'
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"must be JSON like {example}: {exc.msg}") from exc
        if not isinstance(value, dict):
            raise ValueError(f"must be a JSON object like {example}")
        people: dict[str, dict[str, list[str]]] = {}
        for name, spec in value.items():
            if not isinstance(spec, dict):
                raise ValueError(f"person {name!r} must map to an object like {example}")
            unknown = set(spec) - set(IDENTITY_KINDS)
            if unknown:
                raise ValueError(
                    f"person {name!r}: unknown key(s) {sorted(unknown)}; valid: {list(IDENTITY_KINDS)}"
                )
            entry: dict[str, list[str]] = {}
            for kind, raw in spec.items():
                ids = [raw] if isinstance(raw, str) else raw
                if not isinstance(ids, list) or not all(isinstance(i, str) and i.strip() for i in ids):
                    raise ValueError(f"person {name!r}: {kind!r} must be a list of non-empty strings")
                entry[kind] = [i.strip() for i in ids]
            people[str(name)] = entry
        IdentityMap.from_config(people)  # ValueError: a bad ARN or login, or an id shared by two people
        return people

    @field_validator("mlops_drift_schedule", mode="after")
    @classmethod
    def _drift_schedule(cls, value: str) -> str:
        from ml.drift.environment import parse_since

        return off_or_duration(value, parse_since)

    @property
    def drift_interval(self) -> timedelta | None:
        """The drift check's schedule; None when it is off."""
        from ml.drift.environment import parse_since

        return None if self.mlops_drift_schedule == "off" else parse_since(self.mlops_drift_schedule)

    @field_validator("mlops_validation_rows", mode="after")
    @classmethod
    def _validation_rows(cls, value: int) -> int:
        if not VALIDATION_ROWS_MIN <= value <= VALIDATION_ROWS_MAX:
            raise ValueError(
                f"must be a number of rows from {VALIDATION_ROWS_MIN} to {VALIDATION_ROWS_MAX}, not {value}"
            )
        return value

    @field_validator("mlops_capture_percent", mode="after")
    @classmethod
    def _capture_percent(cls, value: int) -> int:
        if not 0 <= value <= 100:
            raise ValueError(f"must be a whole percentage from 0 to 100 (0 turns capture off), not {value}")
        return value

    @field_validator("mlops_capture_max_mb", mode="after")
    @classmethod
    def _capture_max_mb(cls, value: int) -> int:
        if not 1 <= value <= CAPTURE_MAX_MB:
            raise ValueError(f"must be a size in MB from 1 to {CAPTURE_MAX_MB}, not {value}")
        return value

    @field_validator(
        "mlops_ci_role_arns",
        mode="after",
    )
    @classmethod
    def _roles_arns(cls, value: list[str]) -> list[str]:
        out = []
        for arn in value:
            role = role_of_arn(arn)
            if role is None:
                raise ValueError(f"{arn!r} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)")
            out.append(role)
        return out

    @property
    def local_platform(self) -> bool:
        """Everything on this machine: the only place local users (``--as``, users.json) are trusted."""
        return self.mlops_backend == "local" and self.mlops_store == "sqlite"

    @property
    def store_path(self) -> Path:
        return self.mlops_store_path or self.mlops_home / "bot.db"

    def endpoint_name(self, environment: str) -> str:
        explicit = {"staging": self.mlops_staging_endpoint, "production": self.mlops_production_endpoint}
        return explicit.get(environment) or f"{self.mlops_model_package_group}-{environment}"

    def empty_roles(self) -> list[Role]:
        """Roles nobody can hold: deny-by-default makes their actions unavailable."""
        return [r for r in Role if not self.mlops_roles.get(r)]

    def require(self, *names: str) -> None:
        """Fail start-up with the names of required settings that are missing."""
        missing = [n.upper() for n in names if not getattr(self, n)]
        if missing:
            raise ConfigError(f"missing required setting(s): {', '.join(missing)}")


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment; a ConfigError names each bad setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]).upper() or "settings"
            # pydantic prefixes a validator's own message with "Value error, "; the message says enough
            problems.append(f"{name}: {str(err['msg']).removeprefix('Value error, ')}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None
