"""Preparing the SageMaker SDK to build offline: environment, telemetry opt-out and session.

The SDK is imported inside functions on purpose: it is an optional ~1 GB extra, and importing it
needs the environment prepared first.
"""

from __future__ import annotations

import contextlib
import functools
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
        with warnings.catch_warnings(), _schema_checked_once():
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


@contextlib.contextmanager
def _schema_checked_once() -> Iterator[None]:
    """Validate the SDK config with one prepared validator while building.

    The SDK validates its config at every config lookup through ``jsonschema.validate``, which first
    checks the large config schema itself against the JSON Schema meta-schema: about 0.4 s per lookup
    and some 50 lookups per definition. The config is still validated every time; only the schema's
    own check is done once. Not thread-safe, like the environment around it.
    """
    from sagemaker.core.config.config_manager import SageMakerConfig

    validator = _config_validator()

    def validate_sagemaker_config(sagemaker_config: dict[str, Any] | None = None) -> None:
        validator.validate(sagemaker_config)

    original = SageMakerConfig.__dict__["validate_sagemaker_config"]
    SageMakerConfig.validate_sagemaker_config = staticmethod(validate_sagemaker_config)
    try:
        yield
    finally:
        SageMakerConfig.validate_sagemaker_config = original


@functools.cache
def _config_validator() -> Any:
    """A validator of the SDK's config schema, the schema itself checked once per process."""
    from jsonschema.validators import validator_for  # type: ignore[import-untyped]
    from sagemaker.core.config.config_manager import SAGEMAKER_PYTHON_SDK_CONFIG_SCHEMA

    checker = validator_for(SAGEMAKER_PYTHON_SDK_CONFIG_SCHEMA)
    checker.check_schema(SAGEMAKER_PYTHON_SDK_CONFIG_SCHEMA)
    return checker(SAGEMAKER_PYTHON_SDK_CONFIG_SCHEMA)


def pipeline_session(region: str, bucket: str) -> Any:
    import boto3
    from sagemaker.core.workflow.pipeline_context import PipelineSession

    return PipelineSession(
        boto_session=boto3.Session(region_name=region),
        default_bucket=bucket,
        default_bucket_prefix=None,
        sagemaker_config=SDK_CONFIG,
    )
