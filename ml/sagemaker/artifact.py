"""The artifact identity of a registered version: package ARN, model data SHA-256, image digest.

The model data's SHA-256 comes from S3's own checksum (``GetObjectAttributes``) when the object was
uploaded with a full-object SHA-256 checksum; otherwise the object is read and hashed, up to
``MODEL_DATA_HASH_LIMIT`` bytes. The image digest is the container's ``ImageDigest``, else the digest
pinned in the image URI (``…@sha256:…``); an image named by tag only is bound by its URI.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from typing import Any

from ml.platform import ArtifactIdentity, InvalidRequest
from ml.sagemaker.errors import aws_errors
from ml.sagemaker.storage import split_s3_uri

__all__ = ["MODEL_DATA_HASH_LIMIT", "identity_of", "image_digest", "model_data_sha256"]

#: The largest model data object read to hash it when S3 holds no SHA-256 checksum of it (1 GiB).
MODEL_DATA_HASH_LIMIT = 1 << 30

_DIGEST = re.compile(r"@(sha256:[0-9a-f]{64})$")
_CHUNK = 1 << 20


def image_digest(container: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` of the container's image; ``unpinned:<uri>`` when neither field pins one."""
    digest = str(container.get("ImageDigest") or "")
    if digest:
        return digest
    image = str(container.get("Image") or "")
    if m := _DIGEST.search(image):
        return m.group(1)
    return f"unpinned:{image}"


def _checksum_sha256(attributes: Mapping[str, Any]) -> str | None:
    """The object's full-object SHA-256 in hex from GetObjectAttributes, or None (absent, composite)."""
    checksum = attributes.get("Checksum") or {}
    value = str(checksum.get("ChecksumSHA256") or "")
    # A multipart upload's checksum is a checksum of part checksums ("…-3"), not the object's.
    if not value or "-" in value or checksum.get("ChecksumType") == "COMPOSITE":
        return None
    try:
        return base64.b64decode(value, validate=True).hex()
    except (binascii.Error, ValueError):
        return None


def model_data_sha256(s3: Any, uri: str, limit: int = MODEL_DATA_HASH_LIMIT) -> str:
    """Hex SHA-256 of the object at ``uri`` (PlatformError naming the object when it cannot be read)."""
    try:
        bucket, key = split_s3_uri(uri)
    except ValueError as exc:
        raise InvalidRequest(
            f"model data {uri!r} is not an s3:// object: approvals cannot bind to it"
        ) from exc
    with aws_errors(f"model data {uri}"):
        attributes = s3.get_object_attributes(
            Bucket=bucket, Key=key, ObjectAttributes=["Checksum", "ObjectSize"]
        )
        if (known := _checksum_sha256(attributes)) is not None:
            return known
        size = int(attributes.get("ObjectSize") or 0)
        if size > limit:
            raise InvalidRequest(
                f"model data {uri} is {size} bytes and S3 holds no SHA-256 checksum of it, so approvals "
                f"cannot bind to it without reading more than {limit} bytes: upload it with "
                "`--checksum-algorithm SHA256`"
            )
        digest = hashlib.sha256()
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        read = 0
        for chunk in body.iter_chunks(_CHUNK):
            read += len(chunk)
            if read > limit:
                body.close()
                raise InvalidRequest(f"model data {uri} grew past {limit} bytes while it was hashed")
            digest.update(chunk)
        return digest.hexdigest()


def identity_of(package: Mapping[str, Any], s3: Any) -> ArtifactIdentity:
    """From a DescribeModelPackage answer: its ARN, its first container's model data and image."""
    containers = (package.get("InferenceSpecification") or {}).get("Containers") or [{}]
    container = containers[0]
    uri = str(container.get("ModelDataUrl") or "")
    arn = str(package["ModelPackageArn"])
    if not uri:
        raise InvalidRequest(f"{arn} has no ModelDataUrl, so approvals cannot bind to its model data")
    return ArtifactIdentity(arn, model_data_sha256(s3, uri), image_digest(container))
