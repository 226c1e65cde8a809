"""What only production endpoints get: autoscaling and a Model Monitor schedule."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from botocore.exceptions import BotoCoreError, ClientError

from ml.platform import NotFound, PlatformError
from ml.sagemaker import naming
from ml.sagemaker.clients import AwsClients
from ml.sagemaker.errors import DeploymentFailed, aws_errors, translate_error
from ml.sagemaker.traffic import SERVING_VARIANT

logger = logging.getLogger(__name__)
_DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def _policy_name(endpoint: str, variant: str) -> str:
    if variant == SERVING_VARIANT:
        return f"{endpoint}-invocations-per-instance"
    return f"{endpoint}-{variant}-invocations-per-instance"


def monitoring_schedule_name(endpoint: str) -> str:
    return f"{endpoint}-data-quality"[:63]


class Production:
    """Autoscaling and monitoring of the production endpoint, applied once it serves."""

    def __init__(self, aws: AwsClients) -> None:
        self._aws = aws
        self.config = aws.config

    def configure(self, endpoint: str, variants: Sequence[str] = (SERVING_VARIANT,)) -> None:
        """Autoscaling of ``variants`` (the warm one too, so it scales the moment traffic shifts to it)
        and monitoring; the endpoint already serves when these run."""
        problems: list[str] = []
        if self.config.autoscaling_enabled:
            try:
                with aws_errors(f"autoscaling of endpoint '{endpoint}'"):
                    for variant in variants:
                        self._register_autoscaling(endpoint, variant)
            except PlatformError as exc:
                problems.append(str(exc))
        if self.config.model_monitor_enabled:
            try:
                with aws_errors(f"monitoring schedule of endpoint '{endpoint}'"):
                    self._ensure_monitoring_schedule(endpoint)
            except PlatformError as exc:
                problems.append(str(exc))
        if problems:
            raise DeploymentFailed(f"{endpoint} serves the new version, but: " + "; ".join(problems))

    def release(self, endpoint: str, variant: str) -> None:
        """Stop scaling a variant about to be removed (best effort: it is logged when it fails)."""
        if not self.config.autoscaling_enabled:
            return
        try:
            self._aws.client("application-autoscaling").deregister_scalable_target(
                ServiceNamespace="sagemaker",
                ResourceId=f"endpoint/{endpoint}/variant/{variant}",
                ScalableDimension=_DIMENSION,
            )
        except (ClientError, BotoCoreError) as exc:
            logger.warning(
                "Could not stop autoscaling variant %s of %s: %s",
                variant,
                endpoint,
                translate_error(exc, variant),
            )

    def _register_autoscaling(self, endpoint: str, variant: str) -> None:
        autoscaling = self._aws.client("application-autoscaling")
        resource_id = f"endpoint/{endpoint}/variant/{variant}"
        dimension = _DIMENSION
        autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=resource_id,
            ScalableDimension=dimension,
            MinCapacity=self.config.autoscaling_min_instances,
            MaxCapacity=self.config.autoscaling_max_instances,
        )
        autoscaling.put_scaling_policy(
            PolicyName=_policy_name(endpoint, variant),
            ServiceNamespace="sagemaker",
            ResourceId=resource_id,
            ScalableDimension=dimension,
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": float(self.config.autoscaling_target_invocations),
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                },
                "ScaleInCooldown": self.config.autoscaling_scale_in_cooldown_seconds,
                "ScaleOutCooldown": self.config.autoscaling_scale_out_cooldown_seconds,
            },
        )

    def _ensure_monitoring_schedule(self, endpoint: str) -> None:
        """One data-quality schedule per endpoint; it follows the endpoint across updates."""
        name = monitoring_schedule_name(endpoint)
        sagemaker = self._aws.sagemaker
        try:
            sagemaker.describe_monitoring_schedule(MonitoringScheduleName=name)
            return
        except ClientError as exc:
            if not isinstance(translate_error(exc, name), NotFound):
                raise
        cfg = self.config
        sagemaker.create_monitoring_schedule(
            MonitoringScheduleName=name,
            MonitoringScheduleConfig={
                "ScheduleConfig": {"ScheduleExpression": cfg.model_monitor_schedule_expression},
                "MonitoringType": "DataQuality",
                "MonitoringJobDefinition": {
                    "BaselineConfig": {
                        "ConstraintsResource": {"S3Uri": cfg.model_monitor_baseline_constraints_uri},
                        "StatisticsResource": {"S3Uri": cfg.model_monitor_baseline_statistics_uri},
                    },
                    "MonitoringInputs": [
                        {
                            "EndpointInput": {
                                "EndpointName": endpoint,
                                "LocalPath": "/opt/ml/processing/input/endpoint",
                            }
                        }
                    ],
                    "MonitoringOutputConfig": {
                        "MonitoringOutputs": [
                            {
                                "S3Output": {
                                    "S3Uri": cfg.model_monitor_output_s3_uri,
                                    "LocalPath": "/opt/ml/processing/output",
                                    "S3UploadMode": "EndOfJob",
                                }
                            }
                        ]
                    },
                    "MonitoringResources": {
                        "ClusterConfig": {
                            "InstanceCount": 1,
                            "InstanceType": cfg.model_monitor_instance_type,
                            "VolumeSizeInGB": 20,
                        }
                    },
                    "MonitoringAppSpecification": {"ImageUri": cfg.model_monitor_image_uri},
                    "RoleArn": cfg.execution_role_arn,
                },
            },
            Tags=naming.tags({naming.TAG_ENDPOINT: endpoint}),
        )
