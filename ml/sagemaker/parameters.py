"""What a caller may ask of a SageMaker pipeline run, checked against the one spec (``ml.parameters``).

A value SageMaker would reject hours later is refused here with a message naming it. Policy is
applied on every run: ``ModelApprovalStatus`` is always sent as ``PendingManualApproval`` and
``AccuracyThreshold`` never below the deployment's minimum, so neither the definition's defaults
(which anyone allowed to edit the pipeline could change) nor the caller decide them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType

from ml.parameters import (
    REGISTERED_STATUS,
    SAGEMAKER,
    ParameterError,
    ParameterSpec,
    RunPolicy,
    declared,
    format_value,
    parse_overrides,
    settable,
)
from ml.platform import InvalidRequest

#: The parameters a caller may give (policy ones left out).
PIPELINE_PARAMETERS: Mapping[str, ParameterSpec] = MappingProxyType(settable(SAGEMAKER))

_S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])(?P<key>/[^\x00-\x1f\x7f]*)?$")


def normalize_prefix(prefix: str) -> str:
    """``s3://bucket/key/`` with one trailing slash, so ``s3://b/data`` does not admit ``s3://b/data2``."""
    match = _S3_URI.match(prefix.strip())
    if match is None:
        raise ValueError(f"allowed input prefix {prefix!r} is not an s3://bucket[/prefix] URI")
    return prefix.strip().rstrip("/") + "/"


def bucket_prefix(uri: str) -> str:
    """``s3://bucket/`` of an S3 URI (the default allowed prefix of a configured default input)."""
    match = _S3_URI.match(uri.strip())
    if match is None:
        raise ValueError(f"{uri!r} is not an s3://bucket/key URI")
    return f"s3://{match.group('bucket')}/"


def check_input(value: str, allowed_prefixes: Sequence[str] | None) -> str:
    """An ``s3://`` URI under one of ``allowed_prefixes`` (None: any bucket); one message for any other."""
    prefixes = [normalize_prefix(p) for p in allowed_prefixes] if allowed_prefixes is not None else None
    rule = (
        "an s3:// URI under an allowed prefix (" + (", ".join(prefixes) or "none configured") + ")"
        if prefixes is not None
        else "an s3://bucket/key URI"
    )
    match = _S3_URI.match(value)
    key = (match.group("key") or "/") if match else ""
    segments = key.split("/")[1:-1]  # a trailing slash names a prefix; inner empty segments are refused
    if (
        match is None
        or any(part in ("", ".", "..") for part in segments)
        or (prefixes is not None and not any((value.rstrip("/") + "/").startswith(p) for p in prefixes))
    ):
        raise InvalidRequest(f"InputData must be {rule}.")
    return value


def validate_parameters(
    parameters: Mapping[str, str],
    *,
    policy: RunPolicy | None = None,
    allowed_input_prefixes: Sequence[str] | None = None,
) -> dict[str, str]:
    """The parameters to start a run with: the caller's, checked and normalized, plus the policy ones."""
    policy = policy or RunPolicy()
    try:
        values = parse_overrides(parameters, SAGEMAKER, policy)
    except ParameterError as exc:
        raise InvalidRequest(str(exc)) from None
    if "InputData" in values:
        check_input(str(values["InputData"]), allowed_input_prefixes)
    normalized = {name: format_value(value) for name, value in values.items()}
    normalized.setdefault("AccuracyThreshold", format_value(policy.default_threshold))
    normalized["ModelApprovalStatus"] = REGISTERED_STATUS
    return normalized


def effective_parameters(overrides: Mapping[str, str]) -> dict[str, str]:
    """Defaults merged with ``overrides``: what a run actually uses (empty defaults left out)."""
    merged = {
        name: format_value(spec.default) for name, spec in declared(SAGEMAKER).items() if spec.default != ""
    }
    merged.update(overrides)
    return merged
