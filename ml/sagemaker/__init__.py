"""The SageMaker ML platform (boto3 only; the SageMaker Python SDK is never imported here)."""

from ml.sagemaker.config import SageMakerConfig
from ml.sagemaker.errors import AccessDenied, AwsUnavailable, DeploymentFailed, Throttled
from ml.sagemaker.platform import PlatformSnapshot, SageMakerPlatform

__all__ = [
    "AccessDenied",
    "AwsUnavailable",
    "DeploymentFailed",
    "PlatformSnapshot",
    "SageMakerConfig",
    "SageMakerPlatform",
    "Throttled",
]
