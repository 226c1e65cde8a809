"""The SDK's config is validated at every lookup while a definition is built, with the schema checked once."""

from __future__ import annotations

import jsonschema
import pytest

from ml.pipeline import sdk

BAD = {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": "yes"}}}}


def test_the_sdk_config_is_still_validated_while_building() -> None:
    with sdk.offline_environment("eu-west-1"):
        from sagemaker.core.config.config_manager import SageMakerConfig

        original = SageMakerConfig.__dict__["validate_sagemaker_config"]
        with sdk.offline_environment("eu-west-1"):
            SageMakerConfig.validate_sagemaker_config(sdk.SDK_CONFIG)  # valid: no error
            with pytest.raises(jsonschema.ValidationError, match="'yes' is not of type 'boolean'"):
                SageMakerConfig.validate_sagemaker_config(BAD)
        assert SageMakerConfig.__dict__["validate_sagemaker_config"] is original  # nesting restores
    with pytest.raises(jsonschema.ValidationError, match="'yes' is not of type 'boolean'"):
        SageMakerConfig.validate_sagemaker_config(BAD)  # the SDK's own check, once the build is over
