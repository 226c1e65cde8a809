"""Maps the bot's settings onto the SageMaker platform's configuration."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from bot.settings import ConfigError, Settings
from ml.platform import ENVIRONMENTS
from ml.sagemaker.config import SageMakerConfig
from ml.sagemaker.platform import SageMakerPlatform

if TYPE_CHECKING:
    from ml.sagemaker.registry import PackageFacts


def sagemaker_config(settings: Settings) -> SageMakerConfig:
    try:
        return SageMakerConfig(
            region=settings.aws_region,
            pipeline_name=settings.mlops_pipeline_name,
            model_package_group=settings.mlops_model_package_group,
            execution_role_arn=settings.sagemaker_role_arn,
            endpoint_names={
                "staging": settings.endpoint_name("staging"),
                "production": settings.endpoint_name("production"),
            },
            instance_types={
                "staging": settings.mlops_staging_instance_type,
                "production": settings.mlops_production_instance_type,
            },
            instance_counts={
                "staging": settings.mlops_staging_instance_count,
                "production": settings.mlops_production_instance_count,
            },
            rollouts={env: settings.rollout_policy(env) for env in ENVIRONMENTS},
            rollback_alarm_names=settings.rollback_alarms,
            warm_rollback_seconds=_seconds(settings.warm_rollback),
            data_capture_s3_uri=settings.mlops_data_capture_s3_uri or None,
            data_capture_sampling_percent=settings.mlops_capture_percent,
            autoscaling_min_instances=settings.mlops_autoscaling_min,
            autoscaling_max_instances=settings.mlops_autoscaling_max,
            model_monitor_enabled=settings.mlops_model_monitor,
            model_monitor_output_s3_uri=settings.mlops_model_monitor_output_s3_uri or None,
            min_accuracy_threshold=settings.mlops_min_accuracy_threshold,
            validation_rows=settings.mlops_validation_rows,
            allowed_input_prefixes=allowed_input_prefixes(settings),
            retry_mode=settings.mlops_aws_retry_mode,
            max_attempts=settings.mlops_aws_max_attempts,
        )
    except ValueError as exc:  # SageMakerConfig lists every problem at once
        raise ConfigError(f"invalid SageMaker configuration (SAGEMAKER_ROLE_ARN, MLOPS_*): {exc}") from None


def _seconds(window: timedelta | None) -> int | None:
    return None if window is None else int(window.total_seconds())


def allowed_input_prefixes(settings: Settings) -> tuple[str, ...]:
    """Where InputData may point: the configured prefixes, else the default input's bucket, else nowhere."""
    if settings.mlops_allowed_input_prefixes:
        return tuple(settings.mlops_allowed_input_prefixes)
    if settings.mlops_input_data:
        from ml.sagemaker.parameters import bucket_prefix

        try:
            return (bucket_prefix(settings.mlops_input_data),)
        except ValueError as exc:
            raise ConfigError(f"MLOPS_INPUT_DATA: {exc}") from None
    return ()


def sagemaker_platform(settings: Settings, facts: PackageFacts | None = None) -> SageMakerPlatform:
    """``facts``: where described versions are remembered (the bot's store)."""
    return SageMakerPlatform(sagemaker_config(settings), facts=facts)
