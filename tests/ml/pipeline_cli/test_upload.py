"""``upload-code`` ships the preprocess step's ``ml`` modules under ``deps/`` (moto S3)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ml.clock import Clock
from ml.pipeline import PREPROCESS_DEPENDENCIES, code_files
from ml.pipeline_cli import STEPS_DIR, main
from ml.pipeline_cli.upload import PACKAGE_ROOT
from ml.sagemaker.clients import aws_session

REGION = "eu-west-1"
BUCKET = "mlops-artifacts"


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.Session]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("MLOPS_CODE_S3_PREFIX", raising=False)
    monkeypatch.setenv("AWS_REGION", REGION)
    with mock_aws():
        session = aws_session(REGION)
        session.client("s3").create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        yield session


def _keys(s3: Any, prefix: str) -> list[str]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return sorted(str(item["Key"]) for item in listed)


def test_upload_code_puts_exactly_the_listed_modules_under_deps(
    session: boto3.Session, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = f"s3://{BUCKET}/code/abc/"
    argv = ["upload-code", "--code-s3-prefix", prefix, "--steps-dir", str(STEPS_DIR)]
    assert main(argv, session=session, clock=Clock(sleep=lambda _: None)) == 0
    s3 = session.client("s3")
    assert json.loads(capsys.readouterr().out) == code_files(prefix)
    assert _keys(s3, "code/abc/deps/") == sorted(f"code/abc/deps/{path}" for path in PREPROCESS_DEPENDENCIES)
    assert set(PREPROCESS_DEPENDENCIES) >= {"ml/__init__.py", "ml/drift/__init__.py", "ml/drift/baseline.py"}
    for path in PREPROCESS_DEPENDENCIES:
        body = s3.get_object(Bucket=BUCKET, Key=f"code/abc/deps/{path}")["Body"].read()
        assert body == (PACKAGE_ROOT / path).read_bytes(), path
    # the script the processing job runs is the package's, beside its dependencies
    script = s3.get_object(Bucket=BUCKET, Key="code/abc/preprocess.py")["Body"].read()
    assert script == (STEPS_DIR / "preprocess.py").read_bytes()
