"""On AWS the CLI acts as the AWS principal that calls it, never as a name it is given (moto STS)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ml.sagemaker.clients import aws_session
from runtimes.cli import main
from tests.ml.sagemaker import conftest as sagemaker
from tests.ml.sagemaker import moto_sagemaker
from tests.ml.sagemaker.conftest import GROUP, PIPELINE, REGION, ROLE_ARN

# The SageMaker tests' moto fixtures: fake credentials only, and moto's STS for the caller's identity.
aws_environment = sagemaker.aws_environment
aws = sagemaker.aws

ACCOUNT = "123456789012"
PEOPLE = {
    "bob": {"aws": [f"arn:aws:sts::{ACCOUNT}:assumed-role/Dev/bob"], "groups": ["ml-approvers"]},
    "alice": {"slack": ["U0ALICE"], "github": ["Alice-GH"], "groups": ["ml-team", "ml-approvers"]},
}


@pytest.fixture
def on_aws(aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The bot's settings for SageMaker (moto), and v1 registered by alice's run, awaiting approval."""
    for name, value in {
        "MLOPS_BACKEND": "sagemaker",
        "MLOPS_HOME": str(tmp_path / "home"),
        "SAGEMAKER_ROLE_ARN": ROLE_ARN,
        "MLOPS_PIPELINE_NAME": PIPELINE,
        "MLOPS_MODEL_PACKAGE_GROUP": GROUP,
        "MLOPS_AUTO_DEPLOY_STAGING": "false",
        "MLOPS_PEOPLE": json.dumps(PEOPLE),
        "MLOPS_CI_ROLE_ARNS": f"arn:aws:iam::{ACCOUNT}:role/ci/GitHubCI",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MLOPS_USER", raising=False)
    monkeypatch.delenv("GITHUB_ACTOR", raising=False)
    sm, s3 = (
        aws_session().client("sagemaker", region_name=REGION),
        aws_session().client("s3", region_name=REGION),
    )
    moto_sagemaker.create_pipeline(sm, PIPELINE, ROLE_ARN)
    moto_sagemaker.register_model_package(sm, s3, GROUP, lineage={"requested_by": "U0ALICE"})
    iam = aws_session().client("iam", region_name=REGION)
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    iam.create_role(RoleName="Dev", AssumeRolePolicyDocument=trust)
    iam.create_role(RoleName="GitHubCI", Path="/ci/", AssumeRolePolicyDocument=trust)
    return sm


def act_as(monkeypatch: pytest.MonkeyPatch, role: str, session: str) -> str:
    """Run with the credentials of an assumed-role session, as `aws sts assume-role` gives them."""
    sts = aws_session().client("sts", region_name=REGION)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role}", RoleSessionName=session)[
        "Credentials"
    ]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", creds["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", creds["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", creds["SessionToken"])
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def approval(sm: Any) -> str:
    packages = sm.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]
    return str(packages[0]["ModelApprovalStatus"])


def test_as_is_refused_and_the_caller_principal_acts(
    on_aws: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bob = act_as(monkeypatch, "Dev", "bob")
    code, _, err = run(capsys, "approve", "v1", "--as", "bob")
    assert code == 2
    assert "--as" in err and "local platform only" in err and "AWS principal" in err
    monkeypatch.setenv("MLOPS_USER", "bob")
    assert run(capsys, "approve", "v1")[0] == 2  # the environment variable is a name too
    monkeypatch.delenv("MLOPS_USER")
    assert approval(on_aws) == "PendingManualApproval"

    code, out, err = run(capsys, "approve", "v1", "looks", "good", "--json")
    assert code == 0, err
    assert json.loads(out)["actor"] == "bob"
    assert approval(on_aws) == "Approved"
    code, out, _ = run(capsys, "audit", "5", "--json")
    entry = json.loads(out)[0]
    assert (entry["actor_id"], entry["actor_name"], entry["action"], entry["outcome"]) == (
        bob,
        "bob",
        "approve",
        "done",
    )


def test_a_principal_nobody_mapped_may_read_but_not_act(
    on_aws: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    mallory = act_as(monkeypatch, "Dev", "mallory")
    code, _, err = run(capsys, "approve", "v1")
    assert code == 1
    assert f"the AWS principal {mallory} is not in the identity map (MLOPS_PEOPLE)" in err
    assert approval(on_aws) == "PendingManualApproval"
    code, out, err = run(capsys, "status", "--json")
    assert code == 0, err
    assert json.loads(out)["versions"][0]["approval"] == "PendingManualApproval"


def test_ci_acts_as_its_role_for_the_github_actor(
    on_aws: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ci = act_as(monkeypatch, "GitHubCI", "model-build-42")
    code, _, err = run(capsys, "approve", "v1")
    assert code == 1 and "GITHUB_ACTOR" in err
    monkeypatch.setenv("GITHUB_ACTOR", "alice-gh")  # set by GitHub on the runner
    # alice started v1's run from Slack; from CI she is the same person: four-eyes holds
    code, _, err = run(capsys, "approve", "v1")
    assert code == 1 and "*alice* requested the training run of v1" in err
    assert approval(on_aws) == "PendingManualApproval"
    code, out, _ = run(capsys, "audit", "5", "--json")
    entry = json.loads(out)[0]
    assert entry["actor_id"] == ci and entry["actor_name"] == "CI (alice, github:alice-gh)"
    assert entry["outcome"] == "refused"
