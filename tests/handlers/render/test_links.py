"""Console, GitHub and log-file addresses: built from checked parts, encoded exactly, or refused."""

from __future__ import annotations

import pytest

from handlers.render import links
from handlers.render.links import LinkError

PACKAGE = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/mlops-xgboost/7"
JOB = "arn:aws:sagemaker:us-east-1:210987654321:training-job/pipelines-abc123-trainmodel-x9"


def test_endpoint_page_uses_the_region_and_name() -> None:
    assert links.endpoint_url(PACKAGE, "mlops-xgboost-staging") == (
        "https://eu-west-1.console.aws.amazon.com/sagemaker/home?region=eu-west-1"
        "#/endpoints/mlops-xgboost-staging"
    )


def test_endpoint_log_group_is_encoded_as_cloudwatch_expects() -> None:
    assert links.endpoint_logs_url(PACKAGE, "Prod-1") == (
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1"
        "#logsV2:log-groups/log-group/$252Faws$252Fsagemaker$252FEndpoints$252FProd-1"
    )


def test_training_job_page_and_its_log_streams() -> None:
    assert links.training_job_url(JOB) == (
        "https://us-east-1.console.aws.amazon.com/sagemaker/home?region=us-east-1"
        "#/jobs/pipelines-abc123-trainmodel-x9"
    )
    assert links.training_job_logs_url(JOB) == (
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
        "#logsV2:log-groups/log-group/$252Faws$252Fsagemaker$252FTrainingJobs"
        "$3FlogStreamNameFilter$3Dpipelines-abc123-trainmodel-x9$252F"
    )


def test_model_registry_page_names_the_group_as_created() -> None:
    arn = "arn:aws:sagemaker:ap-southeast-2:123456789012:model-package/churn-model/12"
    assert links.model_registry_url(arn, "Churn-Model") == (
        "https://ap-southeast-2.console.aws.amazon.com/sagemaker/home?region=ap-southeast-2"
        "#/model-registry/Churn-Model/details"
    )


@pytest.mark.parametrize(
    ("arn", "why"),
    [
        ("arn:aws-cn:sagemaker:cn-north-1:123456789012:endpoint/x", "'aws' partition only"),
        ("arn:aws-us-gov:sagemaker:us-gov-west-1:123456789012:endpoint/x", "'aws' partition only"),
        ("arn:aws:s3:::bucket/key", "not a sagemaker ARN"),
        ("arn:aws:sagemaker:local:000000000000:endpoint/x", "not an AWS region"),
        ("arn:aws:sagemaker:us-east-1:12345:endpoint/x", "not an AWS account id"),
        ("javascript:alert(1)", "not an ARN"),
        ("https://evil.example/arn:aws:sagemaker:us-east-1:123456789012:endpoint/x", "not an ARN"),
    ],
)
def test_other_arns_are_refused_with_the_reason(arn: str, why: str) -> None:
    with pytest.raises(LinkError, match=why):
        links.endpoint_url(arn, "mlops-xgboost-staging")


def test_wrong_resource_type_or_unversioned_package_is_refused() -> None:
    with pytest.raises(LinkError, match="not a training-job ARN"):
        links.training_job_url(PACKAGE)
    with pytest.raises(LinkError, match="not a version of model group"):
        links.model_registry_url("arn:aws:sagemaker:us-east-1:123456789012:model-package/churn", "churn")
    with pytest.raises(LinkError, match="not a version of model group"):
        links.model_registry_url(PACKAGE, "another-group")


@pytest.mark.parametrize("name", ["a/b", "x?y=1", "has space", "-lead", "é", "a" * 64, ""])
def test_names_outside_sagemakers_pattern_are_refused(name: str) -> None:
    with pytest.raises(LinkError, match="not a SageMaker endpoint name"):
        links.endpoint_logs_url(PACKAGE, name)


def test_actions_run_url_from_checked_parts() -> None:
    assert links.actions_run_url("octo-org/ml.repo_1", 9876543210) == (
        "https://github.com/octo-org/ml.repo_1/actions/runs/9876543210"
    )
    assert links.actions_run_url("octo/repo", "42") == "https://github.com/octo/repo/actions/runs/42"


@pytest.mark.parametrize(
    ("repository", "run_id"),
    [
        ("javascript:alert(1)//x", "1"),
        ("evil.example/../../x", "1"),
        ("octo/repo/extra", "1"),
        ("octo/..", "1"),
        ("octo/repo", "12/../../evil"),
        ("octo/repo", "https://evil.example/actions/runs/1"),
        ("octo/repo", True),
        ("octo/repo", "0"),
    ],
)
def test_actions_run_url_refuses_anything_else(repository: str, run_id: object) -> None:
    with pytest.raises(LinkError):
        links.actions_run_url(repository, run_id)


def test_home_relative_accepts_a_path_inside_the_home_only() -> None:
    assert links.home_relative("logs/runs/abc123.log") == "logs/runs/abc123.log"
    for bad in [
        "/home/alice/.mlops/logs/runs/a.log",
        "../secrets.log",
        "logs/../../x",
        "C:\\logs\\a",
        "",
        None,
    ]:
        with pytest.raises(LinkError):
            links.home_relative(bad)
