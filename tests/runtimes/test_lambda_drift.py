"""The scheduled drift check on Lambda end to end: a cold start, SageMaker's captured traffic, one card.

AWS is moto (S3 with capture files in SageMaker's layout and the pipeline run's baseline, a registered
version serving production, DynamoDB, Secrets Manager); Slack is the shared LocalSlack. The EMF lines
the function prints are read back from stdout and checked against the embedded metric format.
"""

from __future__ import annotations

import importlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest
from moto import mock_aws

from bot.core.store import StoreError
from bot.store.dynamodb import create_table
from bot.users import LocalUser
from ml.datasets import ADULT_COLUMNS
from ml.drift.baseline import build_baseline
from ml.sagemaker import naming
from ml.sagemaker.clients import aws_session
from ml.sagemaker.registry import BASELINE_SUFFIX, EVALUATION_SUFFIX
from runtimes.slack_local import LocalSlack
from tests.handlers.commands.test_drift import _shifted
from tests.ml.drift.test_metrics import assert_follows_the_spec
from tests.ml.sagemaker import moto_sagemaker
from tests.runtimes.cli.test_drift import adult_test_rows

REGION = "us-east-1"
ACCOUNT = "123456789012"
FUNCTION = "mlops-bot-drift"
TABLE = "mlops-bot-test"
CHANNEL = "C0MLOPS"
BUCKET = "mlops-artifacts"
GROUP = "mlops-xgboost"
PIPELINE = "mlops-xgboost-pipeline"
PRODUCTION = "mlops-xgboost-production"
CAPTURE = f"s3://{BUCKET}/mlops/capture"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/mlops-sagemaker-execution"
FEATURES = ADULT_COLUMNS[:-1]
NUMERIC = ("age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week")

moto_sagemaker.install()


@dataclass
class Context:
    function_name: str = FUNCTION
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 600_000


@pytest.fixture
def local_slack_options() -> dict[str, Any]:
    users = [LocalUser("UCAROL", "carol", ("ml-leads", "ml-oncall"))]
    return {"users": users, "token": "xoxb-drift-test", "channels": {"mlops": CHANNEL}}


@dataclass
class Drift:
    module: ModuleType
    slack: LocalSlack
    s3: Any
    dynamodb: Any

    def invoke(self) -> dict[str, Any]:
        # EventBridge Scheduler's input: the schedule passes none of its own.
        result: dict[str, Any] = self.module.handler({}, Context())
        return result

    def capture(self, rows: list[list[str]], score: str, at: datetime) -> None:
        """Records as SageMaker's data capture writes them: one CSV row in, one score out."""
        lines = [
            json.dumps(
                {
                    "captureData": {
                        "endpointInput": {
                            "observedContentType": "text/csv",
                            "mode": "INPUT",
                            "data": ",".join(row),
                            "encoding": "CSV",
                        },
                        "endpointOutput": {
                            "observedContentType": "text/csv; charset=utf-8",
                            "mode": "OUTPUT",
                            "data": score,
                            "encoding": "CSV",
                        },
                    },
                    "eventMetadata": {
                        "eventId": str(uuid.uuid4()),
                        "inferenceTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    },
                    "eventVersion": "0",
                }
            )
            for row in rows
        ]
        key = (
            f"mlops/capture/{PRODUCTION}/AllTraffic/{at:%Y/%m/%d/%H}/{at:%M-%S}-{uuid.uuid4().hex[:8]}.jsonl"
        )
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=("\n".join(lines) + "\n").encode())

    def cards(self) -> list[Any]:
        return [m for m in self.slack.top_level() if m.text.startswith("Drift in production")]


def register_and_serve(sm: Any, s3: Any) -> None:
    """v1 as the pipeline registers it (baseline beside its evaluation report), serving production."""
    train = pd.DataFrame(adult_test_rows(label=False)[:8000], columns=list(FEATURES))
    spec = {"raw_columns": list(FEATURES), "numeric_columns": list(NUMERIC), "missing_values": ["", "?"]}
    scores = [((i * 37) % 100) / 100 for i in range(2000)]
    baseline = build_baseline(train, scores, spec)
    run = f"{PIPELINE}/execution0001"
    evaluation = {
        "classification_metrics": {"accuracy": {"value": 0.86}},
        "score_baseline": baseline["score"],
    }
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=run + EVALUATION_SUFFIX, Body=json.dumps(evaluation).encode())
    s3.put_object(
        Bucket=BUCKET, Key=run + BASELINE_SUFFIX, Body=json.dumps(baseline | {"score": None}).encode()
    )
    sm.create_model_package_group(ModelPackageGroupName=GROUP)
    moto_sagemaker.create_run_package(sm, GROUP, run, approval_status="Approved", bucket=BUCKET)
    name = naming.config_name(PRODUCTION, 1, datetime.now(UTC) - timedelta(days=2))
    sm.create_model(
        ModelName=name,
        ExecutionRoleArn=ROLE_ARN,
        PrimaryContainer={
            "Image": moto_sagemaker.XGBOOST_IMAGE,
            "ModelDataUrl": f"s3://{BUCKET}/{run}/model.tar.gz",
        },
    )
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": name,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    sm.create_endpoint(EndpointName=PRODUCTION, EndpointConfigName=name)


@pytest.fixture
def drift(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, local_slack: LocalSlack) -> Iterator[Drift]:
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    settings_env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_LAMBDA_FUNCTION_NAME": FUNCTION,
        "MLOPS_STORE": "dynamodb",
        "MLOPS_DYNAMODB_TABLE": TABLE,
        "MLOPS_BACKEND": "sagemaker",
        "MLOPS_HOME": str(tmp_path / "home"),
        "MLOPS_CHANNEL": CHANNEL,
        "MLOPS_PIPELINE_NAME": PIPELINE,
        "MLOPS_MODEL_PACKAGE_GROUP": GROUP,
        "MLOPS_STAGING_ENDPOINT": "mlops-xgboost-staging",
        "MLOPS_PRODUCTION_ENDPOINT": PRODUCTION,
        "MLOPS_DATA_CAPTURE_S3_URI": CAPTURE,
        "SAGEMAKER_ROLE_ARN": ROLE_ARN,
        "SLACK_API_URL": local_slack.api_url,
    }
    for name, value in settings_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no stray .env file is read
    with mock_aws():
        session = aws_session(REGION)
        s3, dynamodb = session.client("s3"), session.client("dynamodb")
        register_and_serve(session.client("sagemaker"), s3)
        create_table(dynamodb, TABLE)
        tokens = {
            "SLACK_BOT_TOKEN": "xoxb-drift-test",
            "SLACK_SIGNING_SECRET": "8f742231b10e8888abcd99yyyzzz85a5",
        }
        secret = session.client("secretsmanager").create_secret(
            Name="mlops-bot/tokens", SecretString=json.dumps(tokens)
        )
        monkeypatch.setenv("MLOPS_SECRETS_ARN", secret["ARN"])
        import runtimes.lambda_drift

        # A cold start: importing the module on "Lambda" builds everything at module scope.
        module = importlib.reload(runtimes.lambda_drift)
        rt = module._INSTANCE.current()
        assert rt is not None, "the runtime must be built at import time on Lambda"
        try:
            yield Drift(module, local_slack, s3, dynamodb)
        finally:
            module.set_runtime(None)
            rt.close()


def emf_lines(out: str) -> list[dict[str, Any]]:
    documents = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [d for d in documents if "_aws" in d]


def test_drifted_traffic_keeps_one_card_and_publishes_the_psi(
    drift: Drift, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)
    drift.capture(_shifted(adult_test_rows(label=False)[8000:11000]), "0.95", now - timedelta(hours=2))
    answer = drift.invoke()
    assert answer["environments"] == {"production": "drift"}
    assert datetime.fromisoformat(answer["checked_at"]) >= now
    # flushed before the invocation returned: the card is there without waiting
    (card,) = drift.cards()
    assert card.text.startswith("Drift in production v1: drift") and card.channel == CHANNEL
    (actions,) = [b for b in card.blocks if b["type"] == "actions"]  # v1 only: nothing to roll back to
    labels = [e["text"]["text"] for e in actions["elements"]]
    assert labels == ["Retrain with current data", "Acknowledge for 4h"]
    # the chart went into the card's thread in the same invocation
    (chart,) = [m for m in drift.slack.thread(card.ts) if m.files]
    assert drift.slack.file_bytes(chart.files[0]["id"]).startswith(b"\x89PNG")  # type: ignore[union-attr]
    documents = emf_lines(capsys.readouterr().out)
    for document in documents:
        assert_follows_the_spec(document)
        assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "mlops"
        assert document["Environment"] == "production" and document["Version"] == 1
    psi = {d["Feature"]: d["DriftPSI"] for d in documents}
    assert set(psi) == {*FEATURES, "score"}
    assert psi["age"] > 0.25 and psi["hours-per-week"] > 0.25 and psi["score"] > 0.25  # the shifts
    assert psi["race"] < 0.1  # left as it was

    drift.capture(_shifted(adult_test_rows(label=False)[11000:12000]), "0.95", now - timedelta(hours=1))
    assert drift.invoke()["environments"] == {"production": "drift"}
    assert [(m.channel, m.ts) for m in drift.cards()] == [(card.channel, card.ts)]  # updated, not reposted
    assert "4,000 rows" in str(drift.slack.message(card.channel, card.ts).blocks)
    assert drift.slack.ok_calls("chat.update")
    assert len(drift.slack.ok_calls("files.completeUploadExternal")) == 1  # the same drift: no new chart
    assert len(emf_lines(capsys.readouterr().out)) == len(FEATURES) + 1


def test_a_check_that_cannot_run_is_no_failure(drift: Drift, capsys: pytest.CaptureFixture[str]) -> None:
    assert drift.invoke()["environments"] == {"production": "unavailable"}  # nothing captured yet
    assert drift.cards() == [] and not drift.slack.calls("chat.postMessage")
    assert emf_lines(capsys.readouterr().out) == []


def test_a_failing_round_raises_so_lambda_retries(drift: Drift) -> None:
    drift.capture(_shifted(adult_test_rows(label=False)[8000:9000]), "0.95", datetime.now(UTC))
    drift.dynamodb.delete_table(TableName=TABLE)  # the store the card's state lives in is gone
    with pytest.raises(StoreError, match=TABLE):
        drift.invoke()
    assert drift.cards() == []
