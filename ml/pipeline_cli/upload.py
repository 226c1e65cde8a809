"""``upload-code``: the step scripts, the preprocess step's ``ml`` modules and the model's serving code,
packed reproducibly and put in S3."""

from __future__ import annotations

import argparse
import io
import json
import tarfile
from pathlib import Path

import boto3

import ml
from ml import serving_code
from ml.clock import Clock
from ml.pipeline.arguments import PipelineConfigError, check_code_prefix
from ml.pipeline.layout import (
    DEPS_FOLDER,
    EVALUATE_SCRIPT,
    PREPROCESS_DEPENDENCIES,
    PREPROCESS_SCRIPT,
    TRAIN_SCRIPT,
    TRAIN_SOURCE_ARCHIVE,
    code_files,
)
from ml.pipeline_cli.console import EXIT_OK, CliError, aws, connect, emit, progress
from ml.sagemaker.storage import put_object

#: The folder holding the ``ml`` package: the paths of ``PREPROCESS_DEPENDENCIES`` start here.
PACKAGE_ROOT = Path(ml.__file__).resolve().parent.parent


def preprocess_dependencies() -> dict[str, bytes]:
    """The preprocess step's ``ml`` modules, by their path below the code prefix (``deps/ml/...``)."""
    return {f"{DEPS_FOLDER}/{path}": (PACKAGE_ROOT / path).read_bytes() for path in PREPROCESS_DEPENDENCIES}


def source_archive_members(train_script: Path) -> dict[str, bytes]:
    """What ``sourcedir.tar.gz`` holds: the training script at its root and the parameter spec it
    imports, at the same import path (``ml.parameters``) as in this package."""
    from ml import parameters

    return {
        train_script.name: train_script.read_bytes(),
        "ml/__init__.py": b"",
        "ml/parameters.py": Path(parameters.__file__).read_bytes(),
    }


def source_archive(train_script: Path) -> bytes:
    """``sourcedir.tar.gz`` of ``source_archive_members``; byte-identical for the same files."""
    buffer = io.BytesIO()
    # mtime 0 and fixed ownership keep the archive (and so its ETag) reproducible.
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        for name, data in source_archive_members(train_script).items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            archive.addfile(info, io.BytesIO(data))
    return _reproducible_gzip(buffer.getvalue())


def _reproducible_gzip(blob: bytes) -> bytes:
    # The gzip header embeds the time of compression (bytes 4-7); zero it.
    return blob[:4] + b"\x00\x00\x00\x00" + blob[8:]


def upload_code_command(args: argparse.Namespace, session: boto3.Session | None, clock: Clock) -> int:
    if not args.code_s3_prefix:
        raise CliError("missing --code-s3-prefix (or MLOPS_CODE_S3_PREFIX)")
    try:
        check_code_prefix(args.code_s3_prefix)
    except PipelineConfigError as exc:
        raise CliError(str(exc)) from exc

    steps_dir: Path = args.steps_dir
    sources = {name: steps_dir / name for name in (PREPROCESS_SCRIPT, EVALUATE_SCRIPT, TRAIN_SCRIPT)}
    absent = [str(path) for path in sources.values() if not path.is_file()]
    if absent:
        raise CliError(f"step scripts not found: {', '.join(absent)}")
    targets = code_files(args.code_s3_prefix)
    payloads = {
        PREPROCESS_SCRIPT: sources[PREPROCESS_SCRIPT].read_bytes(),
        EVALUATE_SCRIPT: sources[EVALUATE_SCRIPT].read_bytes(),
        TRAIN_SOURCE_ARCHIVE: source_archive(sources[TRAIN_SCRIPT]),
        # The model's inference script: registered models run it (SAGEMAKER_SUBMIT_DIRECTORY).
        serving_code.SOURCE_ARCHIVE: serving_code.archive(),
        # What preprocess.py imports (--deps) to write the drift baseline.
        **preprocess_dependencies(),
    }
    s3 = connect(args.region, session).s3
    for name, payload in payloads.items():
        with aws(f"uploading {targets[name]}"):
            put_object(s3, targets[name], payload)
        progress(f"uploaded {targets[name]} ({len(payload)} bytes)")
    emit(json.dumps(targets, indent=2), None)
    return EXIT_OK
