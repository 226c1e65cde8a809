"""The SageMaker pipeline's parameters, and validation of what a user asks to override.

These mirror the parameters declared by the pipeline definition (``ml.pipeline``); a value
SageMaker would reject hours later is refused here with a message naming it.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from types import MappingProxyType

from ml.platform import InvalidRequest, ParameterSpec

_INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")

PIPELINE_PARAMETERS: Mapping[str, ParameterSpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            ParameterSpec(
                "InputData",
                "string",
                "",
                "S3 URI of the training data (empty: the pipeline's default)",
            ),
            ParameterSpec(
                "ProcessingInstanceType", "string", "ml.m5.xlarge", "instance type of processing steps"
            ),
            ParameterSpec("TrainingInstanceType", "string", "ml.m5.xlarge", "instance type of training"),
            ParameterSpec(
                "AccuracyThreshold",
                "float",
                0.8,
                "minimum test accuracy for the model to be registered",
                minimum=0.0,
                maximum=1.0,
            ),
            ParameterSpec(
                "ModelApprovalStatus",
                "string",
                "PendingManualApproval",
                "approval status of the registered version",
                choices=("PendingManualApproval", "Approved"),
            ),
            ParameterSpec(
                "num_round", "integer", 100, "boosting rounds", minimum=1, maximum=10000, hyperparameter=True
            ),
            ParameterSpec(
                "max_depth", "integer", 5, "maximum tree depth", minimum=1, maximum=20, hyperparameter=True
            ),
            ParameterSpec(
                "eta", "float", 0.2, "learning rate", minimum=0.001, maximum=1.0, hyperparameter=True
            ),
            ParameterSpec(
                "subsample",
                "float",
                0.8,
                "row subsample ratio per tree",
                minimum=0.1,
                maximum=1.0,
                hyperparameter=True,
            ),
            ParameterSpec(
                "colsample_bytree",
                "float",
                0.8,
                "column subsample ratio per tree",
                minimum=0.1,
                maximum=1.0,
                hyperparameter=True,
            ),
        )
    }
)


def _closest(name: str) -> str | None:
    by_lower = {known.lower(): known for known in PIPELINE_PARAMETERS}
    if name.lower() in by_lower:
        return by_lower[name.lower()]
    matches = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[matches[0]] if matches else None


def _format_number(value: float) -> str:
    return repr(value) if not float(value).is_integer() else str(int(value))


def _check_bounds(spec: ParameterSpec, number: float) -> None:
    low, high = spec.minimum, spec.maximum
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = f"{_format_number(low) if low is not None else '-inf'}-"
        bounds += _format_number(high) if high is not None else "inf"
        raise InvalidRequest(f"Parameter {spec.name}={_format_number(number)} is out of range ({bounds})")


def normalize_value(spec: ParameterSpec, raw: str) -> str:
    """Check one value against its spec; return it in the form SageMaker receives."""
    value = raw.strip()
    if spec.type == "integer":
        try:
            number = int(value)
        except ValueError:
            raise InvalidRequest(f"Parameter {spec.name} must be an integer, not {raw!r}") from None
        _check_bounds(spec, number)
        return str(number)
    if spec.type == "float":
        try:
            real = float(value)
        except ValueError:
            raise InvalidRequest(f"Parameter {spec.name} must be a number, not {raw!r}") from None
        if not math.isfinite(real):
            raise InvalidRequest(f"Parameter {spec.name} must be a finite number, not {raw!r}")
        _check_bounds(spec, real)
        return repr(real)
    if spec.choices and value not in spec.choices:
        raise InvalidRequest(f"Parameter {spec.name} must be one of {', '.join(spec.choices)}, not {raw!r}")
    if spec.name.endswith("InstanceType") and not _INSTANCE_TYPE.match(value):
        raise InvalidRequest(
            f"Parameter {spec.name} must be a SageMaker instance type like ml.m5.xlarge, not {raw!r}"
        )
    if spec.name == "InputData" and not re.match(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$", value):
        raise InvalidRequest(f"Parameter InputData must be an s3://bucket/key URI, not {raw!r}")
    return value


def validate_parameters(parameters: Mapping[str, str]) -> dict[str, str]:
    """Validate user overrides; return them normalized (only the ones given)."""
    normalized: dict[str, str] = {}
    for name, raw in parameters.items():
        spec = PIPELINE_PARAMETERS.get(name)
        if spec is None:
            suggestion = _closest(name)
            hint = f" Did you mean {suggestion}?" if suggestion else ""
            valid = ", ".join(PIPELINE_PARAMETERS)
            raise InvalidRequest(f"Unknown pipeline parameter {name!r}.{hint} Valid parameters: {valid}")
        if not isinstance(raw, str):
            raise InvalidRequest(f"Parameter {name} must be given as text, not {type(raw).__name__}")
        normalized[name] = normalize_value(spec, raw)
    return normalized


def effective_parameters(overrides: Mapping[str, str]) -> dict[str, str]:
    """Defaults merged with ``overrides``: what a run actually uses (empty defaults left out)."""
    merged = {name: str(spec.default) for name, spec in PIPELINE_PARAMETERS.items() if spec.default != ""}
    merged.update(overrides)
    return merged
