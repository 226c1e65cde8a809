"""The artifact identity of a local model version, read from its files each time it is asked for.

The model data is the version's ``xgboost-model`` file. The local endpoint host has no image: what
it runs for a version is the serving code in the version's ``code/`` directory under the container
spec in ``container.json``, so their digest stands in for the image digest.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ml.platform import ArtifactIdentity, ModelPackage, PlatformError

from .container import CONTAINER_FILE
from .pipeline import MODEL_FILE, SUBMIT_DIRECTORY

__all__ = ["artifact_identity", "file_sha256", "serving_digest"]

_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def serving_digest(model_dir: Path) -> str:
    """``sha256:<hex>`` over the container spec and every serving code file, by relative path."""
    digest = hashlib.sha256()
    spec = model_dir / CONTAINER_FILE
    files = [spec] if spec.is_file() else []
    code = model_dir / SUBMIT_DIRECTORY
    if code.is_dir():
        files += sorted(p for p in code.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in files:
        digest.update(path.relative_to(model_dir).as_posix().encode() + b"\0")
        digest.update(file_sha256(path).encode() + b"\n")
    return "sha256:" + digest.hexdigest()


def artifact_identity(package: ModelPackage, model_dir: Path) -> ArtifactIdentity:
    model = model_dir / MODEL_FILE
    try:
        return ArtifactIdentity(package.arn, file_sha256(model), serving_digest(model_dir))
    except OSError as exc:
        raise PlatformError(f"cannot read v{package.version}'s model file {model}: {exc.strerror}") from exc
