"""The artifact identity on SageMaker (moto), and N-of-M approvals bound to it."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from bot.core.models import Actor, Outcome, Role
from bot.core.service import ReleaseService
from bot.core.votes import ApprovalRule
from bot.store.sqlite import SQLiteStore
from ml.platform import ApprovalStatus, InvalidRequest
from ml.sagemaker import SageMakerPlatform
from ml.sagemaker.artifact import image_digest, model_data_sha256
from tests.ml.sagemaker import moto_sagemaker
from tests.ml.sagemaker.conftest import GROUP

APPROVER = frozenset({Role.APPROVER})
BOB = Actor("UBOB", "bob", APPROVER, groups=frozenset({"ml-approvers"}))
RITA = Actor("URITA", "rita", APPROVER, groups=frozenset({"risk"}))
ERIN = Actor("UERIN", "erin", APPROVER)
MODEL = b"xgboost model bytes " * 100
DIGEST = "sha256:" + "ab" * 32


def _register(platform: SageMakerPlatform, sm: Any, s3: Any, *, checksum: bool) -> tuple[int, str, str]:
    package = moto_sagemaker.register_model_package(sm, s3, GROUP)
    uri = str(
        sm.describe_model_package(ModelPackageName=package.arn)["InferenceSpecification"]["Containers"][0][
            "ModelDataUrl"
        ]
    )
    bucket, key = uri[5:].split("/", 1)
    extra = {"ChecksumAlgorithm": "SHA256"} if checksum else {}
    s3.put_object(Bucket=bucket, Key=key, Body=MODEL, **extra)
    return package.version, bucket, key


@pytest.mark.parametrize("checksum", [True, False], ids=["s3-checksum", "hashed"])
def test_the_identity_is_the_arn_the_model_data_hash_and_the_image(
    platform: SageMakerPlatform, sm: Any, s3: Any, checksum: bool
) -> None:
    version, _, _ = _register(platform, sm, s3, checksum=checksum)
    identity = platform.artifact_identity(version)
    assert identity.package_arn == platform.package_arn(version)
    assert identity.model_data_sha256 == hashlib.sha256(MODEL).hexdigest()
    assert identity.image_digest == f"unpinned:{moto_sagemaker.XGBOOST_IMAGE}"  # a tag pins nothing


def test_a_large_object_without_a_checksum_is_not_read(platform: SageMakerPlatform, sm: Any, s3: Any) -> None:
    _, bucket, key = _register(platform, sm, s3, checksum=False)
    with pytest.raises(InvalidRequest, match=r"no SHA-256 checksum of it.*--checksum-algorithm SHA256"):
        model_data_sha256(s3, f"s3://{bucket}/{key}", limit=len(MODEL) - 1)


def test_the_image_digest_comes_from_the_container_or_its_uri() -> None:
    image = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost"
    assert image_digest({"Image": image + ":1.7-1", "ImageDigest": DIGEST}) == DIGEST
    assert image_digest({"Image": f"{image}@{DIGEST}"}) == DIGEST
    assert image_digest({"Image": image + ":1.7-1"}) == f"unpinned:{image}:1.7-1"


def test_two_of_m_on_sagemaker_voided_by_new_model_data(
    platform: SageMakerPlatform, sm: Any, s3: Any, tmp_path: Any
) -> None:
    version, bucket, key = _register(platform, sm, s3, checksum=True)
    store = SQLiteStore(tmp_path / "bot.db")
    release = ReleaseService(
        platform, store, approval_rule=ApprovalRule(2, ("risk",)), auto_deploy_staging=False
    )
    try:
        first = release.approve(BOB, version)
        assert first.outcome is Outcome.DONE and "1 of 2 approvals: @bob ✓" in first.message
        assert release.approve(BOB, version).outcome is Outcome.NOOP

        s3.put_object(Bucket=bucket, Key=key, Body=MODEL + b"retrained", ChecksumAlgorithm="SHA256")
        voided = release.approve(RITA, version)
        assert voided.outcome is Outcome.DONE
        assert voided.message.startswith("Approvals voided: model data changed (sha256 ")
        assert "1 of 2 approvals: @rita ✓, waiting for one more." in voided.message
        assert platform.describe_model_package(version).approval_status is ApprovalStatus.PENDING

        done = release.approve(BOB, version)
        assert done.outcome is Outcome.DONE
        assert done.message == f"Approved v{version} (2 of 2 approvals: @rita ✓, @bob ✓)."
        described = sm.describe_model_package(ModelPackageName=platform.package_arn(version))
        assert described["ModelApprovalStatus"] == "Approved"
        assert "2 of 2 approvals" in described["ApprovalDescription"]
    finally:
        store.close()


def test_an_unreadable_model_data_object_refuses_the_vote(
    platform: SageMakerPlatform, sm: Any, s3: Any, tmp_path: Any
) -> None:
    version, bucket, key = _register(platform, sm, s3, checksum=True)
    s3.delete_object(Bucket=bucket, Key=key)
    store = SQLiteStore(tmp_path / "bot.db")
    try:
        release = ReleaseService(platform, store, approval_rule=ApprovalRule(2), auto_deploy_staging=False)
        result = release.approve(ERIN, version)
        assert result.outcome is Outcome.FAILED
        assert "cannot be bound to it" in result.message and "Nothing changed" in result.message
        assert store.query("approval_vote") == []
    finally:
        store.close()
