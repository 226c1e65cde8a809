"""Preparing the SageMaker SDK to build offline: environment, telemetry opt-out and session.

The SDK is imported inside functions on purpose: it is an optional ~1 GB extra, and importing it
needs the environment prepared first.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from typing import Any, Final

# Telemetry opt-out in the SDK's own config schema; passing a config also stops the session from
# reading /etc/xdg and ~/.config SDK defaults, which would otherwise leak into the definition.
SDK_CONFIG: Final = {
    "SchemaVersion": "1.0",
    "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
}


@contextlib.contextmanager
def offline_environment(region: str) -> Iterator[None]:
    """Environment under which importing the SDK and building a definition touch no network.

    Restored afterwards: ``AWS_EC2_METADATA_DISABLED`` would otherwise break instance-profile
    credentials for the boto3 calls a caller makes next (``upsert``). Not thread-safe.
    """
    overrides = {
        "AWS_DEFAULT_REGION": region,
        "AWS_EC2_METADATA_DISABLED": "true",
        "SAGEMAKER_VALIDATE_ROLE": "false",
    }
    saved = {name: os.environ.get(name) for name in overrides}
    os.environ.update(overrides)
    try:
        with warnings.catch_warnings():
            # Emitted once per step built under a PipelineSession: expected, and only noise here.
            warnings.filterwarnings(
                "ignore", message="Running within a PipelineSession", category=UserWarning
            )
            yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def pipeline_session(region: str, bucket: str) -> Any:
    import boto3
    from sagemaker.core.workflow.pipeline_context import PipelineSession

    return PipelineSession(
        boto_session=boto3.Session(region_name=region),
        default_bucket=bucket,
        default_bucket_prefix=None,
        sagemaker_config=SDK_CONFIG,
    )
