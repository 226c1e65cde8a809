"""The serving code shipped with every registered model (script mode of SageMaker's XGBoost container).

The submit directory holds ``inference.py`` at its root (the container imports it by the name in
``SAGEMAKER_PROGRAM``) and the ``ml`` package files it imports. On SageMaker it is a ``.tar.gz`` in S3,
uploaded by ``python -m ml.pipeline_cli upload-code``; the local platform writes the same files into each
model version's ``code/`` directory.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Final

PROGRAM: Final = "inference.py"
SOURCE_ARCHIVE: Final = "serving-sourcedir.tar.gz"
#: The container's environment variables naming the script and where it lives.
PROGRAM_ENV: Final = "SAGEMAKER_PROGRAM"
SUBMIT_DIRECTORY_ENV: Final = "SAGEMAKER_SUBMIT_DIRECTORY"
#: What the container passes ``output_fn`` when a request has no ``Accept`` (or ``*/*``).
DEFAULT_ACCEPT_ENV: Final = "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT"
DEFAULT_ACCEPT: Final = "text/csv"

_PACKAGE = Path(__file__).resolve().parent


def files() -> dict[str, bytes]:
    """Path inside the submit directory -> content."""
    return {
        PROGRAM: (_PACKAGE / "inference.py").read_bytes(),
        "ml/__init__.py": (_PACKAGE / "__init__.py").read_bytes(),
        "ml/serving.py": (_PACKAGE / "serving.py").read_bytes(),
    }


def environment(submit_directory: str) -> dict[str, str]:
    """The model container's ``Environment`` for script mode (answers CSV unless asked otherwise)."""
    return {PROGRAM_ENV: PROGRAM, SUBMIT_DIRECTORY_ENV: submit_directory, DEFAULT_ACCEPT_ENV: DEFAULT_ACCEPT}


def archive() -> bytes:
    """The submit directory as a ``.tar.gz``, byte-identical for the same files (so is its ETag)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(files().items()):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    blob = buffer.getvalue()
    return blob[:4] + b"\x00\x00\x00\x00" + blob[8:]  # the gzip header's timestamp


def write_directory(target: Path) -> Path:
    """Write the submit directory's files under ``target``; returns ``target``."""
    for name, data in files().items():
        path = Path(target) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return Path(target)
