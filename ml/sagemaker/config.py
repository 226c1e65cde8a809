"""Settings of the SageMaker platform: one frozen value, validated once at start-up."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ml.platform import ENVIRONMENTS, Environment
from ml.rollout_policy import RolloutPolicy

RetryMode = Literal["standard", "adaptive"]

# SageMaker names (endpoints, configs, models, schedules): letters, digits, hyphens, 63 characters at most.
_SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")
_S3_PREFIX = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/[^\x00-\x1f\x7f]*)?$")


@dataclass(frozen=True)
class SageMakerConfig:
    """Everything the SageMaker platform needs to know about the AWS side.

    Per-environment values are mappings keyed by ``"staging"`` and ``"production"``.
    """

    region: str
    pipeline_name: str
    model_package_group: str
    execution_role_arn: str
    endpoint_names: Mapping[Environment, str]
    instance_types: Mapping[Environment, str] = field(
        default_factory=lambda: {"staging": "ml.m5.large", "production": "ml.m5.xlarge"}
    )
    instance_counts: Mapping[Environment, int] = field(
        default_factory=lambda: {"staging": 1, "production": 2}
    )

    # -- endpoint updates (blue/green) -------------------------------------
    #: how each environment takes a new version (``BlueGreenUpdatePolicy``); a deploy may override it
    rollouts: Mapping[Environment, RolloutPolicy] = field(
        default_factory=lambda: {
            "staging": RolloutPolicy("all-at-once"),
            "production": RolloutPolicy("canary", 10, 300),
        }
    )
    #: CloudWatch alarms that roll an update back automatically (AutoRollbackConfiguration)
    rollback_alarm_names: tuple[str, ...] = ()
    #: how long a promote keeps the replaced production model warm at weight 0; None: not kept
    warm_rollback_seconds: int | None = 1800
    #: where every endpoint captures its invocations (``ml.sagemaker.capture``); None turns capture off
    data_capture_s3_uri: str | None = None
    #: InitialSamplingPercentage, 0-100 (``MLOPS_CAPTURE_PERCENT``; 0 turns capture off)
    data_capture_sampling_percent: int = 100

    # -- production autoscaling --------------------------------------------
    autoscaling_enabled: bool = True
    autoscaling_min_instances: int = 2
    autoscaling_max_instances: int = 10
    #: SageMakerVariantInvocationsPerInstance target (invocations per instance per minute)
    autoscaling_target_invocations: float = 100.0
    autoscaling_scale_in_cooldown_seconds: int = 300
    autoscaling_scale_out_cooldown_seconds: int = 60

    # -- Model Monitor (production data quality) ---------------------------
    model_monitor_enabled: bool = False
    model_monitor_output_s3_uri: str | None = None
    model_monitor_baseline_statistics_uri: str | None = None
    model_monitor_baseline_constraints_uri: str | None = None
    #: the region's sagemaker-model-monitor-analyzer image
    model_monitor_image_uri: str | None = None
    model_monitor_schedule_expression: str = "cron(0 * ? * * *)"
    model_monitor_instance_type: str = "ml.m5.xlarge"

    # -- botocore client behaviour -----------------------------------------
    retry_mode: RetryMode = "standard"
    max_attempts: int = 5
    connect_timeout_seconds: float = 5.0
    read_timeout_seconds: float = 60.0
    #: overrides AWS_ENDPOINT_URL, which boto3 honours on its own anyway
    endpoint_url: str | None = None

    # -- staging validation (ml.validate) ----------------------------------
    validation_accuracy_threshold: float = 0.8
    validation_latency_budget_ms: float = 300.0
    #: held-out rows each validation sends
    validation_rows: int = 200

    # -- what a run may ask for (ml.parameters) ----------------------------
    #: the lowest AccuracyThreshold a run may ask for
    min_accuracy_threshold: float = 0.8
    #: s3:// prefixes InputData may point under; empty: only the pipeline's default input
    allowed_input_prefixes: tuple[str, ...] = ()

    # -- waiting and fan-out -----------------------------------------------
    waiter_delay_seconds: float = 30.0
    waiter_max_attempts: int = 120
    #: bound on concurrent AWS calls when enriching lists (describe, S3 metrics)
    max_concurrency: int = 16
    #: how long a described model package is reused when its approval status is unchanged
    package_cache_ttl_seconds: float = 300.0

    def __post_init__(self) -> None:
        problems: list[str] = []
        for name in ("region", "pipeline_name", "model_package_group"):
            if not getattr(self, name):
                problems.append(f"{name} is empty")
        if not _ROLE_ARN.match(self.execution_role_arn):
            problems.append(
                f"execution_role_arn {self.execution_role_arn!r} is not an IAM role ARN "
                "(arn:aws:iam::<account>:role/<name>)"
            )
        for mapping_name in ("endpoint_names", "instance_types", "instance_counts"):
            mapping: Mapping[str, object] = getattr(self, mapping_name)
            missing = [env for env in ENVIRONMENTS if env not in mapping]
            unknown = sorted(set(mapping) - set(ENVIRONMENTS))
            if missing:
                problems.append(f"{mapping_name} lacks {', '.join(missing)}")
            if unknown:
                problems.append(f"{mapping_name} has unknown environment(s) {', '.join(unknown)}")
        for env, endpoint in self.endpoint_names.items():
            # Endpoint configs are named "<endpoint>-v<version>-<timestamp>", which needs some room.
            if not _SAGEMAKER_NAME.match(endpoint) or len(endpoint) > 40:
                problems.append(
                    f"endpoint name {endpoint!r} for {env} must be 1-40 letters, digits or hyphens"
                )
        if len(set(self.endpoint_names.values())) != len(self.endpoint_names):
            problems.append("staging and production must use different endpoints")
        for env, count in self.instance_counts.items():
            if count < 1:
                problems.append(f"instance_counts[{env}] must be at least 1, not {count}")
        missing_rollouts = [env for env in ENVIRONMENTS if env not in self.rollouts]
        if missing_rollouts:
            problems.append(f"rollouts lacks {', '.join(missing_rollouts)}")
        if self.warm_rollback_seconds is not None and not 60 <= self.warm_rollback_seconds <= 86400:
            problems.append(
                f"warm_rollback_seconds must be within 60-86400, not {self.warm_rollback_seconds}"
            )
        if len(self.rollback_alarm_names) > 10:
            problems.append("at most 10 rollback alarms are allowed by SageMaker")
        if self.data_capture_s3_uri is not None and not self.data_capture_s3_uri.startswith("s3://"):
            problems.append(f"data_capture_s3_uri must be an s3:// URI, not {self.data_capture_s3_uri!r}")
        if not 0 <= self.data_capture_sampling_percent <= 100:
            percent = self.data_capture_sampling_percent
            problems.append(f"data_capture_sampling_percent must be within 0-100, not {percent}")
        if self.autoscaling_enabled:
            if not 1 <= self.autoscaling_min_instances <= self.autoscaling_max_instances:
                problems.append(
                    "autoscaling needs 1 <= min <= max instances, got "
                    f"{self.autoscaling_min_instances}-{self.autoscaling_max_instances}"
                )
            if self.autoscaling_target_invocations <= 0:
                problems.append("autoscaling_target_invocations must be positive")
        if self.model_monitor_enabled:
            for name in (
                "model_monitor_output_s3_uri",
                "model_monitor_baseline_statistics_uri",
                "model_monitor_baseline_constraints_uri",
            ):
                value = getattr(self, name)
                if not value or not str(value).startswith("s3://"):
                    problems.append(f"model monitoring is enabled but {name} is not an s3:// URI")
            if not self.model_monitor_image_uri:
                problems.append("model monitoring is enabled but model_monitor_image_uri is not set")
            if self.data_capture_s3_uri is None:
                problems.append("model monitoring needs data_capture_s3_uri (it analyses captured requests)")
        if self.retry_mode not in ("standard", "adaptive"):
            problems.append(f"retry_mode must be 'standard' or 'adaptive', not {self.retry_mode!r}")
        if self.max_attempts < 1:
            problems.append("max_attempts must be at least 1")
        if self.connect_timeout_seconds <= 0 or self.read_timeout_seconds <= 0:
            problems.append("connect/read timeouts must be positive")
        if self.waiter_delay_seconds < 0 or self.waiter_max_attempts < 1:
            problems.append("waiter_delay_seconds must be >= 0 and waiter_max_attempts >= 1")
        if self.max_concurrency < 1:
            problems.append("max_concurrency must be at least 1")
        if self.validation_rows < 1:
            problems.append(f"validation_rows must be at least 1, not {self.validation_rows}")
        if not 0.0 <= self.min_accuracy_threshold <= 1.0:
            problems.append(f"min_accuracy_threshold must be within 0-1, not {self.min_accuracy_threshold}")
        for prefix in self.allowed_input_prefixes:
            if not _S3_PREFIX.match(prefix):
                problems.append(f"allowed input prefix {prefix!r} is not an s3://bucket[/prefix] URI")
        if problems:
            raise ValueError("Invalid SageMaker settings: " + "; ".join(problems))

    def endpoint_name(self, environment: Environment) -> str:
        return self.endpoint_names[environment]

    def rollout(self, environment: Environment) -> RolloutPolicy:
        return self.rollouts[environment]

    def environment_of(self, endpoint_name: str) -> Environment | None:
        for env, name in self.endpoint_names.items():
            if name == endpoint_name:
                return env
        return None
