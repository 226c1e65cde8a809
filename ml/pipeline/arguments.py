"""The arguments a pipeline definition is built from, and their checks."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NotRequired, TypedDict

_PIPELINE_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")
_GROUP_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/[\w+=,.@\-/]{1,512}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])(?P<key>/.*)?$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")


class PipelineConfigError(ValueError):
    """An argument of the pipeline definition is invalid; the message names it."""


class PipelineArguments(TypedDict):
    """What ``build_pipeline`` and ``definition`` take (``default_bucket`` may be left out)."""

    pipeline_name: str
    role_arn: str
    region: str
    code_s3_prefix: str
    model_package_group: str
    default_input_data: str
    default_bucket: NotRequired[str | None]


@dataclass(frozen=True)
class BuildConfig:
    """Checked arguments; ``bucket`` receives the steps' outputs."""

    pipeline_name: str
    role_arn: str
    region: str
    code_prefix: str
    model_package_group: str
    default_input_data: str
    bucket: str


def check_code_prefix(code_s3_prefix: str) -> str:
    """The bucket of a valid ``s3://bucket/prefix``; raises PipelineConfigError saying what is wrong."""
    if not code_s3_prefix.startswith("s3://"):
        raise PipelineConfigError(
            f"code S3 prefix {code_s3_prefix!r} is invalid: expected s3://bucket/prefix"
        )
    bucket, _, key = code_s3_prefix.removeprefix("s3://").partition("/")
    if not _BUCKET.match(bucket):
        raise PipelineConfigError(
            f"code S3 prefix {code_s3_prefix!r} is invalid: bucket name {bucket!r} breaks S3's naming rule "
            "(3-63 characters: lowercase letters, digits, dots and hyphens, starting and ending with a "
            "letter or digit)"
        )
    if not key.strip("/"):
        raise PipelineConfigError(
            f"code S3 prefix {code_s3_prefix!r} is invalid: it names a bare bucket; "
            f"add a prefix, e.g. s3://{bucket}/mlops/code"
        )
    return bucket


def validated(
    *,
    pipeline_name: str,
    role_arn: str,
    region: str,
    code_s3_prefix: str,
    model_package_group: str,
    default_input_data: str,
    default_bucket: str | None = None,
) -> BuildConfig:
    """The checked build arguments; raises PipelineConfigError naming the first bad one."""
    if not _PIPELINE_NAME.match(pipeline_name):
        raise PipelineConfigError(
            f"pipeline name {pipeline_name!r} is invalid: use letters, digits and hyphens "
            "(1-256 characters, starting and ending with a letter or digit)"
        )
    if not _ROLE_ARN.match(role_arn):
        raise PipelineConfigError(
            f"role ARN {role_arn!r} is invalid: expected arn:aws:iam::<12-digit account>:role/<name>"
        )
    if not _REGION.match(region):
        raise PipelineConfigError(f"region {region!r} is invalid: expected a name like eu-west-1")
    code_bucket = check_code_prefix(code_s3_prefix)
    if not _GROUP_NAME.match(model_package_group):
        raise PipelineConfigError(
            f"model package group {model_package_group!r} is invalid: use letters, digits and hyphens "
            "(1-63 characters)"
        )
    if not _S3_URI.match(default_input_data):
        raise PipelineConfigError(
            f"default input data {default_input_data!r} is invalid: expected an s3://bucket/prefix URI"
        )
    bucket = default_bucket if default_bucket is not None else code_bucket
    if not _BUCKET.match(bucket):
        raise PipelineConfigError(f"default bucket {bucket!r} is not a valid S3 bucket name")
    return BuildConfig(
        pipeline_name=pipeline_name,
        role_arn=role_arn,
        region=region,
        code_prefix=code_s3_prefix.rstrip("/"),
        model_package_group=model_package_group,
        default_input_data=default_input_data,
        bucket=bucket,
    )
