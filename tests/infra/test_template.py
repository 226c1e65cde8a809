"""infra/template.yaml: EventBridge coverage, least-privilege IAM, and the bot's configuration."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from fnmatch import fnmatchcase
from typing import Any

import pytest

from bot.ingest.models import KNOWN_DETAIL_TYPES
from bot.settings import Settings
from ml.platform import (
    DT_ENDPOINT,
    DT_ENDPOINT_DEPLOYMENT,
    DT_EXECUTION,
    DT_MODEL_PACKAGE,
    DT_STEP,
    EVENT_SOURCE,
)
from tests import paths
from tests.infra.cfn import Resolver, load_template, matches, resources

FIXTURES = paths.EVENTS
ACCOUNT, REGION = "210987654321", "eu-west-1"  # the account and region of the recorded events

#: Statements allowed a Resource of "*", and why; each may hold only the actions listed.
STAR_RESOURCE_JUSTIFIED: dict[str, tuple[frozenset[str], str]] = {
    "Tracing": (
        frozenset({"xray:PutTraceSegments", "xray:PutTelemetryRecords"}),
        "X-Ray has no resource-level permissions",
    ),
    "UnscopableSageMakerReads": (
        frozenset({"sagemaker:ListModelPackages", "sagemaker:ListEndpointConfigs"}),
        "List actions take no resource ARN",
    ),
    "ProductionScaling": (
        frozenset(
            {
                "application-autoscaling:RegisterScalableTarget",
                "application-autoscaling:PutScalingPolicy",
            }
        ),
        "scalable target ARNs are generated at registration; conditioned on SageMaker variant counts",
    ),
    "JobMetrics": (frozenset({"cloudwatch:PutMetricData"}), "no resource ARN; namespace conditioned"),
    "RolloutMetrics": (frozenset({"cloudwatch:GetMetricData"}), "GetMetricData takes no resource ARN"),
    "ContainerRegistryLogin": (frozenset({"ecr:GetAuthorizationToken"}), "no resource ARN"),
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def identity_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every statement of every identity policy (inline role policies and policy resources)."""
    for name, res in template["Resources"].items():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                for stmt in policy["PolicyDocument"]["Statement"]:
                    yield name, stmt
        elif res["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for stmt in props["PolicyDocument"]["Statement"]:
                yield name, stmt
        elif res["Type"] == "AWS::Serverless::Function":
            assert "Policies" not in props, f"{name}: keep permissions on the explicit role, not SAM Policies"


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# -- EventBridge -------------------------------------------------------------------------------------


def rule_patterns(template: dict[str, Any], **overrides: Any) -> dict[str, dict[str, Any]]:
    resolve = Resolver(template, ACCOUNT, REGION, **overrides)
    return {
        name: resolve(res["Properties"]["EventPattern"])
        for name, res in resources(template, "AWS::Events::Rule").items()
    }


def test_rules_cover_every_detail_type_the_bot_handles(template: dict[str, Any]) -> None:
    covered: set[tuple[str, str]] = set()
    for pattern in rule_patterns(template).values():
        for source in pattern["source"]:
            covered.update((source, dt) for dt in pattern["detail-type"])
    handled = {(source, dt) for source, types in KNOWN_DETAIL_TYPES.items() for dt in types}
    platform = {
        (EVENT_SOURCE, dt)
        for dt in (DT_EXECUTION, DT_STEP, DT_MODEL_PACKAGE, DT_ENDPOINT, DT_ENDPOINT_DEPLOYMENT)
    }
    assert platform <= handled
    assert handled - covered == set(), "detail-types the bot handles but no rule delivers"
    assert covered - handled == set(), "rules deliver detail-types the bot ignores"


def _fixture_events() -> list[tuple[str, dict[str, Any]]]:
    return [(p.name, json.loads(p.read_text())) for p in sorted(FIXTURES.glob("eb_*.json"))]


@pytest.mark.parametrize(("name", "event"), _fixture_events(), ids=[n for n, _ in _fixture_events()])
def test_recorded_events_about_our_resources_match_a_rule(
    template: dict[str, Any], name: str, event: dict[str, Any]
) -> None:
    matched = [rule for rule, pattern in rule_patterns(template).items() if matches(pattern, event)]
    assert len(matched) == 1, f"{name} matched {matched}"


@pytest.mark.parametrize(
    ("fixture", "path", "value"),
    [
        (
            "eb_pipeline_execution_failed.json",
            ("detail", "pipelineArn"),
            "arn:aws:sagemaker:eu-west-1:210987654321:pipeline/other",
        ),
        (
            "eb_pipeline_step_failed.json",
            ("detail", "pipelineArn"),
            "arn:aws:sagemaker:eu-west-1:1:pipeline/mlops-xgboost-pipeline",
        ),
        ("eb_model_package_approved.json", ("detail", "ModelPackageGroupName"), "another-group"),
        ("eb_endpoint_in_service.json", ("detail", "EndpointName"), "mlops-xgboost-staging-2"),
        ("eb_alarm_production_5xx.json", ("detail", "alarmName"), "someone-elses-alarm"),
    ],
)
def test_events_about_other_resources_match_no_rule(
    template: dict[str, Any], fixture: str, path: tuple[str, str], value: str
) -> None:
    event = json.loads((FIXTURES / fixture).read_text())
    event[path[0]][path[1]] = value
    if fixture.startswith("eb_alarm"):
        event["detail"]["configuration"]["metrics"] = []  # nor about the production endpoint
    assert not any(matches(p, event) for p in rule_patterns(template).values())


def test_alarm_rule_also_catches_alarms_on_the_production_endpoint(template: dict[str, Any]) -> None:
    event = json.loads((FIXTURES / "eb_alarm_production_5xx.json").read_text())
    event["detail"]["alarmName"] = "an-alarm-not-listed"
    event["detail"]["configuration"]["metrics"] = [
        {
            "id": "m1",
            "metricStat": {
                "metric": {
                    "namespace": "AWS/SageMaker",
                    "name": "ModelLatency",
                    "dimensions": {"EndpointName": "MLOPS-XGBOOST-PRODUCTION"},
                }
            },
        }
    ]
    assert matches(rule_patterns(template)["AlarmEventsRule"], event)


def test_job_rule_matches_map_and_list_tags_of_our_pipeline_only(template: dict[str, Any]) -> None:
    rule = rule_patterns(template)["JobEventsRule"]
    event = json.loads((FIXTURES / "eb_training_job_failed.json").read_text())
    ours = event["detail"]["Tags"]["sagemaker:pipeline-execution-arn"]
    as_pairs = copy.deepcopy(event)
    as_pairs["detail"]["Tags"] = [{"Key": "sagemaker:pipeline-execution-arn", "Value": ours}]
    other = copy.deepcopy(event)
    other["detail"]["Tags"] = {
        "sagemaker:pipeline-execution-arn": ours.replace("mlops-xgboost-pipeline", "x")
    }
    assert matches(rule, event) and matches(rule, as_pairs)
    assert not matches(rule, other)


def test_every_rule_targets_the_bot_with_a_scoped_permission(template: dict[str, Any]) -> None:
    rules = resources(template, "AWS::Events::Rule")
    permissions = resources(template, "AWS::Lambda::Permission")
    granted = {
        p["Properties"]["SourceArn"]["Fn::GetAtt"][0]
        for p in permissions.values()
        if p["Properties"]["Principal"] == "events.amazonaws.com"
    }
    assert rules and set(rules) == granted
    for name, rule in rules.items():
        targets = rule["Properties"]["Targets"]
        assert [t["Arn"] for t in targets] == [{"Fn::GetAtt": ["BotFunction", "Arn"]}], name
        assert all("DeadLetterConfig" in t for t in targets), name


# -- IAM -------------------------------------------------------------------------------------------------


def test_no_wildcard_actions(template: dict[str, Any]) -> None:
    for role, stmt in identity_statements(template):
        for action in as_list(stmt["Action"]):
            assert action != "*" and not action.endswith(":*"), f"{role}/{stmt.get('Sid')}: {action}"


def test_star_resources_only_where_justified(template: dict[str, Any]) -> None:
    seen = set()
    for role, stmt in identity_statements(template):
        if "*" not in as_list(stmt["Resource"]):
            continue
        sid = stmt.get("Sid")
        assert sid in STAR_RESOURCE_JUSTIFIED, f"{role}/{sid}: Resource '*' without a justification"
        allowed, _why = STAR_RESOURCE_JUSTIFIED[sid]
        assert set(as_list(stmt["Action"])) <= allowed, f"{role}/{sid}: actions beyond the justified ones"
        seen.add(sid)
    assert seen == set(STAR_RESOURCE_JUSTIFIED), "a justification without a statement: remove it"


def test_pass_role_is_only_to_sagemaker_and_for_the_execution_role(template: dict[str, Any]) -> None:
    found = 0
    for role, stmt in identity_statements(template):
        if "iam:PassRole" not in as_list(stmt["Action"]):
            continue
        found += 1
        assert as_list(stmt["Action"]) == ["iam:PassRole"], f"{role}: PassRole shares a statement"
        assert stmt["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
        resource = json.dumps(stmt["Resource"])
        assert "SageMakerExecutionRole" in resource, f"{role}: PassRole on {resource}"
    assert found == 3  # the bot, the workflows, and the execution role (to its own jobs)


def test_sagemaker_permissions_are_scoped_to_this_projects_resources(template: dict[str, Any]) -> None:
    resolve = Resolver(template, ACCOUNT, REGION)
    for role, stmt in identity_statements(template):
        if not any(a.startswith("sagemaker:") for a in as_list(stmt["Action"])):
            continue
        for arn in map(str, as_list(resolve(stmt["Resource"]))):
            if arn == "*":
                continue
            names = (
                "mlops-xgboost-pipeline",
                "mlops-xgboost",
                "mlops-xgboost-staging",
                "mlops-xgboost-production",
                "pipelines-",
            )
            tail = arn.split(":", 5)[5]
            assert any(f"/{n}" in tail for n in names), f"{role}/{stmt.get('Sid')}: {arn}"


def test_lazy_listener_self_invocation_is_allowed_on_the_function_only(template: dict[str, Any]) -> None:
    resolve = Resolver(template, ACCOUNT, REGION)
    stmts = [
        s
        for r, s in identity_statements(template)
        if r == "BotFunctionRole" and "lambda:InvokeFunction" in as_list(s["Action"])
    ]
    assert len(stmts) == 1
    assert as_list(stmts[0]["Action"]) == ["lambda:InvokeFunction"]
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:mlops-bot"
    assert resolve(stmts[0]["Resource"]) == [arn, f"{arn}:*"]


def test_github_role_trusts_only_this_repository_branch_and_environment(template: dict[str, Any]) -> None:
    resolve = Resolver(template, ACCOUNT, REGION, GitHubOrg="acme", GitHubRepo="models")
    trust = resources(template)["ModelWorkflowRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert len(trust) == 1 and trust[0]["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert resolve(trust[0]["Condition"]) == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": [
                "repo:acme/models:ref:refs/heads/main",
                "repo:acme/models:environment:staging",
            ],
        }
    }
    provider = resources(template)["GitHubOidcProvider"]
    assert provider["Condition"] == "CreateGitHubOidcProvider"
    assert provider["Properties"]["Url"] == "https://token.actions.githubusercontent.com"


# -- the function and its state ------------------------------------------------------------------------


def test_function_runs_the_lambda_handler_on_dynamodb(template: dict[str, Any]) -> None:
    fn = resources(template)["BotFunction"]["Properties"]
    assert fn["Handler"] == "runtimes.lambda_handler.handler"
    assert fn["Runtime"] == "python3.11"
    assert fn["FunctionUrlConfig"]["AuthType"] == "NONE"
    assert fn["Tracing"] == "Active" and "ReservedConcurrentExecutions" in fn
    env = fn["Environment"]["Variables"]
    assert env["MLOPS_STORE"] == "dynamodb" and env["MLOPS_DYNAMODB_TABLE"] == {"Ref": "StateTable"}
    assert env["MLOPS_SECRETS_ARN"] == {"Ref": "BotSecret"}
    # Tokens come from the secret, never from plain environment variables.
    assert not {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "GITHUB_WEBHOOK_SECRET", "EVENTS_TOKEN"} & set(env)


def test_function_environment_names_real_settings(template: dict[str, Any]) -> None:
    env = resources(template)["BotFunction"]["Properties"]["Environment"]["Variables"]
    settings = {name.upper() for name in Settings.model_fields}
    read_elsewhere = {"MLOPS_SECRETS_ARN"}  # read by runtimes.lambda_handler before the settings load
    assert set(env) - settings - read_elsewhere == set()


def test_table_matches_the_dynamodb_store(template: dict[str, Any]) -> None:
    table = resources(template)["StateTable"]["Properties"]
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]} == {
        "pk": "S",
        "sk": "S",
    }
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["BillingMode"] == "PAY_PER_REQUEST" and table["SSESpecification"]["SSEEnabled"] is True


def test_checkov_skips_are_justified(template: dict[str, Any]) -> None:
    skips = [
        (name, skip)
        for name, res in template["Resources"].items()
        for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips, "expected the documented skips (VPC, secret rotation)"
    for name, skip in skips:
        assert skip["id"].startswith("CKV"), name
        assert len(skip.get("comment", "")) > 40, f"{name}: skip {skip['id']} needs a real justification"


def test_endpoints_may_write_their_captures_under_the_project_prefix(template: dict[str, Any]) -> None:
    """SageMaker writes data capture as the model's execution role, below MLOPS_DATA_CAPTURE_S3_URI."""
    resolve = Resolver(template, ACCOUNT, REGION, ArtifactsBucketName="mlops-artifacts")
    env = resources(template)["BotFunction"]["Properties"]["Environment"]["Variables"]
    uri = resolve(env["MLOPS_DATA_CAPTURE_S3_URI"])
    assert uri == "s3://mlops-artifacts/mlops/capture"
    object_arn = f"arn:aws:s3:::{uri.removeprefix('s3://')}/churn-staging/AllTraffic/2026/12/07/17/x.jsonl"
    writes = [
        arn
        for role, stmt in identity_statements(template)
        if role == "SageMakerExecutionRole" and "s3:PutObject" in as_list(stmt["Action"])
        for arn in map(str, as_list(resolve(stmt["Resource"])))
    ]
    assert writes == ["arn:aws:s3:::mlops-artifacts/mlops/*"]  # the project prefix, as for every object
    assert any(fnmatchcase(object_arn, arn) for arn in writes)
    assert not any(fnmatchcase("arn:aws:s3:::mlops-artifacts/other/x.jsonl", arn) for arn in writes)
