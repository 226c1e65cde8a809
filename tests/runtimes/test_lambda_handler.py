"""The Lambda runtime end to end: real-shaped API Gateway / function URL events, signed Slack
requests, lazy listeners through a recording Lambda client, GitHub, CI and EventBridge.

AWS is moto (DynamoDB, Secrets Manager); Slack is the shared LocalSlack, which records every call and
serves ``response_url`` posts; the CI issuer's JWKS is a static file on 127.0.0.1; the ML platform is the
local one (no training runs).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from moto import mock_aws
from slack_sdk.signature import SignatureVerifier

from bot.settings import ConfigError
from bot.store.dynamodb import create_table
from bot.users import LocalUser
from ml.sagemaker.clients import aws_session
from ml.threaded_server import ThreadedServer
from runtimes.slack_local import LocalSlack
from tests import paths

FIXTURES = paths.EVENTS
REGION = "us-east-1"
ACCOUNT = "123456789012"
FUNCTION = "mlops-bot"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}"
PIPELINE_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/mlops-xgboost-pipeline"
TABLE = "mlops-bot-test"
CHANNEL = "C0MLOPS"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
GITHUB_SECRET = "gh-webhook-secret"
EVENTS_TOKEN = "events-token-123"
REPO = "acme/models"
KID = "test-key-1"
ISSUER = "https://token.actions.githubusercontent.com"
BOT_TOKEN = "xoxb-lambda-test"
#: Slack users (ids are "U" + the upper-cased name) and their user groups
USERS = {"alice": ("ml-team",), "bob": ("ml-approvers",), "carol": ("ml-leads", "ml-oncall")}


class FakeLambda:
    """Records ``invoke`` calls as Bolt's LambdaLazyListenerRunner makes them."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {"StatusCode": 202}


@dataclass
class Context:
    function_name: str = FUNCTION
    invoked_function_arn: str = FUNCTION_ARN
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


# -- fixtures ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def local_slack_options() -> dict[str, Any]:
    users = [LocalUser("U" + name.upper(), name, groups) for name, groups in USERS.items()]
    return {"users": users, "token": BOT_TOKEN, "channels": {"mlops": CHANNEL}}


@pytest.fixture
def jwks_url(signing_key: rsa.RSAPrivateKey, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The CI issuer's JWKS, a static document served on 127.0.0.1."""
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key()))
    root = tmp_path_factory.mktemp("issuer")
    (root / "jwks.json").write_text(json.dumps({"keys": [jwk | {"kid": KID, "alg": "RS256", "use": "sig"}]}))
    server = ThreadedServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()
    server.server_close()


@dataclass
class Env:
    module: ModuleType
    slack: LocalSlack
    lam: FakeLambda

    def handle(self, event: dict[str, Any]) -> Any:
        return self.module.handler(event, Context())


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, local_slack: LocalSlack, jwks_url: str
) -> Iterator[Env]:
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "GITHUB_WEBHOOK_SECRET", "EVENTS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    settings_env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_LAMBDA_FUNCTION_NAME": FUNCTION,
        "MLOPS_STORE": "dynamodb",
        "MLOPS_DYNAMODB_TABLE": TABLE,
        "MLOPS_BACKEND": "local",
        "MLOPS_HOME": str(tmp_path / "home"),
        "MLOPS_CHANNEL": CHANNEL,
        "MLOPS_ALARM_NAMES": "mlops-xgboost-production-5xx",
        "SLACK_API_URL": local_slack.api_url,
        "GITHUB_REPOSITORIES": REPO,
        "CI_ALLOWED_REPOSITORIES": REPO,
        "CI_OIDC_JWKS_URL": jwks_url,
    }
    for name, value in settings_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no stray .env file is read
    with mock_aws():
        session = aws_session(REGION)
        create_table(session.client("dynamodb"), TABLE)
        secret = session.client("secretsmanager").create_secret(
            Name="mlops-bot/tokens",
            SecretString=json.dumps(
                {
                    "SLACK_BOT_TOKEN": BOT_TOKEN,
                    "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                    "GITHUB_WEBHOOK_SECRET": GITHUB_SECRET,
                    "EVENTS_TOKEN": EVENTS_TOKEN,
                }
            ),
        )
        monkeypatch.setenv("MLOPS_SECRETS_ARN", secret["ARN"])
        import runtimes.lambda_handler

        # A cold start: importing the module on "Lambda" builds everything at module scope.
        module = importlib.reload(runtimes.lambda_handler)
        rt = module._INSTANCE.current()
        assert rt is not None, "the runtime must be built at import time on Lambda"
        lam = FakeLambda()
        rt.app.listener_runner.lazy_listener_runner.lambda_client = lam
        try:
            yield Env(module, local_slack, lam)
        finally:
            module.set_runtime(None)
            rt.close()


# -- request builders ------------------------------------------------------------------------------------


def signed_headers(body: str, *, secret: str = SIGNING_SECRET, at: int | None = None) -> dict[str, str]:
    ts = str(at if at is not None else int(time.time()))
    return {
        "x-slack-request-timestamp": ts,
        "x-slack-signature": str(SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)),
    }


def v2_event(path: str, body: str, headers: dict[str, str], *, b64: bool = False) -> dict[str, Any]:
    """A Lambda function URL / HTTP API (payload format 2.0) request."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "host": "abcdefghij.lambda-url.us-east-1.on.aws",
            "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "x-forwarded-proto": "https",
            **{k.lower(): v for k, v in headers.items()},
        },
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdefghij",
            "domainName": "abcdefghij.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abcdefghij",
            "http": {
                "method": "POST",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "Slackbot 1.0",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": "20/Nov/2026:12:00:00 +0000",
            "timeEpoch": int(time.time() * 1000),
        },
        "body": base64.b64encode(body.encode()).decode() if b64 else body,
        "isBase64Encoded": b64,
    }


def v1_event(path: str, body: str, headers: dict[str, str], *, b64: bool = False) -> dict[str, Any]:
    """An API Gateway REST API (payload format 1.0) request through stage ``prod``."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": "POST",
        "headers": {"Host": "abc123.execute-api.us-east-1.amazonaws.com", **headers},
        "multiValueHeaders": {"Host": ["abc123.execute-api.us-east-1.amazonaws.com"]}
        | {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": "POST",
            "path": f"/prod{path}",
            "stage": "prod",
            "accountId": ACCOUNT,
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "identity": {"sourceIp": "203.0.113.8", "userAgent": "GitHub-Hookshot/abc"},
            "requestId": str(uuid.uuid4()),
            "protocol": "HTTP/1.1",
        },
        "body": base64.b64encode(body.encode()).decode() if b64 else body,
        "isBase64Encoded": b64,
    }


def command_body(slack: LocalSlack, text: str, user: str = "UALICE") -> str:
    return urlencode(
        {
            "token": "legacy",
            "team_id": "T1",
            "team_domain": "acme",
            "channel_id": CHANNEL,
            "channel_name": "mlops",
            "user_id": user,
            "user_name": user.lower().removeprefix("u"),
            "command": "/mlops",
            "text": text,
            "api_app_id": "A1",
            "response_url": slack.response_url(CHANNEL, user),
            "trigger_id": "1337.42.abcd",
        }
    )


FORM = {"content-type": "application/x-www-form-urlencoded"}


# -- Slack ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("b64", [False, True], ids=["plain-body", "base64-body"])
def test_slash_command_acks_then_runs_lazily_through_a_self_invocation(env: Env, b64: bool) -> None:
    body = command_body(env.slack, "status")
    event = v2_event("/slack/events", body, FORM | signed_headers(body), b64=b64)
    ack = env.handle(event)
    assert ack["statusCode"] == 200
    assert env.slack.responses() == [], "the ack must not wait for the slow part"
    assert len(env.lam.calls) == 1
    call = env.lam.calls[0]
    assert call["FunctionName"] == FUNCTION_ARN and call["InvocationType"] == "Event"
    lazy_event = json.loads(call["Payload"])
    assert lazy_event["headers"]["x-slack-bolt-lazy-only"] == "1"

    # Lambda delivers the payload to the function again: the lazy half answers via response_url.
    again = env.handle(lazy_event)
    assert again["statusCode"] == 200
    answers = env.slack.responses()
    assert len(answers) == 1
    assert answers[0]["response_type"] == "ephemeral"
    assert "staging" in json.dumps(answers[0]) and "production" in json.dumps(answers[0])
    assert len(env.lam.calls) == 1, "the lazy half must not invoke again"


def test_help_is_answered_in_the_ack_over_a_rest_api_event(env: Env) -> None:
    body = command_body(env.slack, "help")
    signed = signed_headers(body)
    # REST APIs pass header names as the client sent them.
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Signature": signed["x-slack-signature"],
        "X-Slack-Request-Timestamp": signed["x-slack-request-timestamp"],
    }
    response = env.handle(v1_event("/slack/events", body, headers))
    assert response["statusCode"] == 200
    ack = json.loads(response["body"])
    assert ack["response_type"] == "ephemeral"
    assert "/mlops" in ack["text"] + json.dumps(ack.get("blocks", []))


@pytest.mark.parametrize(
    "headers",
    [
        lambda body: signed_headers(body, secret="not-the-signing-secret"),
        lambda body: signed_headers(body, at=int(time.time()) - 600),
        lambda body: {},
    ],
    ids=["wrong-secret", "stale-timestamp", "unsigned"],
)
def test_unsigned_or_forged_slack_requests_are_refused(env: Env, headers: Any) -> None:
    body = command_body(env.slack, "status")
    response = env.handle(v2_event("/slack/events", body, FORM | headers(body)))
    assert response["statusCode"] == 401
    assert env.lam.calls == [] and env.slack.responses() == []


def test_unknown_path_is_404_and_an_unknown_event_raises(env: Env) -> None:
    response = env.handle(v2_event("/wp-login.php", "x", {}))
    assert response["statusCode"] == 404
    with pytest.raises(ValueError, match="unrecognised Lambda event"):
        env.handle({"Records": [{"eventSource": "aws:sqs"}]})


def test_health_route_probes_the_store(env: Env) -> None:
    event = v2_event("/healthz", "", {})
    event["requestContext"]["http"]["method"] = "GET"
    response = env.handle(event)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["status"] == "ok"


def test_the_ingest_routes_are_built_once_by_the_first_request_for_them(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    import runtimes.lambda_ingest

    built: list[object] = []
    real = runtimes.lambda_ingest.ingest_app
    monkeypatch.setattr(runtimes.lambda_ingest, "ingest_app", lambda s: built.append(s) or real(s))
    rt = env.module.runtime()
    assert not rt.ingest_built, "the cold start must leave the ingest routes to the first request for them"
    body = command_body(env.slack, "help")
    assert env.handle(v2_event("/slack/events", body, FORM | signed_headers(body)))["statusCode"] == 200
    assert not rt.ingest_built, "a Slack request needs no ingest route"
    for _ in range(2):
        event = v2_event("/healthz", "", {})
        event["requestContext"]["http"]["method"] = "GET"
        assert env.handle(event)["statusCode"] == 200
    assert rt.ingest_built and built == [rt.services]


# -- GitHub, CI and EventBridge ------------------------------------------------------------------------


def github_event(body: bytes, event: str = "workflow_run", *, secret: str = GITHUB_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "content-type": "application/json",
        "x-github-event": event,
        "x-github-delivery": str(uuid.uuid4()),
        "x-hub-signature-256": f"sha256={digest}",
    }


def workflow_run_payload() -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((FIXTURES / "gh_workflow_run_requested.json").read_text())
    payload["repository"]["full_name"] = REPO
    return payload


def test_github_webhook_is_verified_and_announced(env: Env) -> None:
    body = json.dumps(workflow_run_payload()).encode()
    forged = env.handle(v2_event("/github/webhook", body.decode(), github_event(body, secret="guess")))
    assert forged["statusCode"] == 401
    assert [c.args for c in env.slack.calls("chat.postMessage")] == []

    response = env.handle(v2_event("/github/webhook", body.decode(), github_event(body)))
    assert response["statusCode"] == 200, response["body"]
    assert json.loads(response["body"])["ok"] is True
    posts = [c.args for c in env.slack.calls("chat.postMessage")]
    assert len(posts) == 1 and posts[0]["channel"] == CHANNEL


def ci_token(key: rsa.RSAPrivateKey, **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "iss": ISSUER,
        "aud": "mlops-bot",
        "sub": f"repo:{REPO}:ref:refs/heads/main",
        "repository": REPO,
        "ref": "refs/heads/main",
        "run_id": "42",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "nbf": now - 5,
        "exp": now + 300,
    } | claims
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": KID})


def test_ci_report_with_an_oidc_token_in_a_base64_rest_event(
    env: Env, signing_key: rsa.RSAPrivateKey
) -> None:
    report = {
        "kind": "pipeline_result",
        "execution_arn": f"{PIPELINE_ARN}/execution/abc123",
        "status": "Succeeded",
        "version": 3,
        "metrics": {"accuracy": 0.87},
        "run_url": "https://github.com/acme/models/actions/runs/42",
    }
    body = json.dumps(report)
    wrong_audience = ci_token(signing_key, aud="someone-else")
    refused = env.handle(
        v1_event("/ci/report", body, {"Authorization": f"Bearer {wrong_audience}"}, b64=True)
    )
    assert refused["statusCode"] == 401
    assert [c.args for c in env.slack.calls("chat.postMessage")] == []

    headers = {"Authorization": f"Bearer {ci_token(signing_key)}", "Content-Type": "application/json"}
    response = env.handle(v1_event("/ci/report", body, headers, b64=True))
    assert response["statusCode"] == 200, response["body"]
    assert json.loads(response["body"])["result"] == "pipeline_result"
    posts = [c.args for c in env.slack.calls("chat.postMessage")]
    assert len(posts) == 1
    assert posts[0]["text"] == "Pipeline run abc123: Succeeded"
    assert "acme/models" in json.dumps(posts[0]["blocks"])


def alarm_event(**detail: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((FIXTURES / "eb_alarm_production_5xx.json").read_text())
    event["detail"].update(detail)
    return event


def test_direct_eventbridge_invocation_posts_once_per_event(env: Env) -> None:
    event = alarm_event()
    assert env.handle(event) == {"outcome": "alarm"}
    assert env.handle(event) == {"outcome": "duplicate"}  # EventBridge delivers at least once
    posts = [c.args for c in env.slack.calls("chat.postMessage")]
    assert len(posts) == 1
    assert "mlops-xgboost-production-5xx" in json.dumps(posts[0])

    other = alarm_event(alarmName="not-ours") | {"id": str(uuid.uuid4())}
    other["detail"]["configuration"]["metrics"] = []
    assert env.handle(other) == {"outcome": "filtered"}
    assert len([c.args for c in env.slack.calls("chat.postMessage")]) == 1


def test_eventbridge_over_http_needs_the_events_token(env: Env) -> None:
    body = json.dumps(alarm_event())
    refused = env.handle(v2_event("/events/eventbridge", body, {"authorization": "Bearer nope"}))
    assert refused["statusCode"] == 401
    ok = env.handle(v2_event("/events/eventbridge", body, {"authorization": f"Bearer {EVENTS_TOKEN}"}))
    assert ok["statusCode"] == 200 and json.loads(ok["body"])["results"] == ["alarm"]


# -- cold start: secrets and configuration ---------------------------------------------------------------


class RecordingSecrets:
    def __init__(self, secret: Any) -> None:
        self.secret = secret
        self.calls: list[dict[str, Any]] = []

    def get_secret_value(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {"SecretString": self.secret if isinstance(self.secret, str) else json.dumps(self.secret)}


def test_secrets_load_in_one_call_and_placeholders_are_skipped() -> None:
    from runtimes.lambda_handler import load_secrets

    environ = {"MLOPS_SECRETS_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:x", "EVENTS_TOKEN": "old"}
    client = RecordingSecrets(
        {
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_SIGNING_SECRET": "s3cret",
            "GITHUB_WEBHOOK_SECRET": "REPLACE_ME",
            "EVENTS_TOKEN": "new",
            "SOMETHING_ELSE": "ignored",
        }
    )
    loaded = load_secrets(environ, client)
    assert client.calls == [{"SecretId": "arn:aws:secretsmanager:us-east-1:1:secret:x"}]
    assert loaded == ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "EVENTS_TOKEN"]
    assert environ["EVENTS_TOKEN"] == "new" and environ["SLACK_SIGNING_SECRET"] == "s3cret"
    assert "GITHUB_WEBHOOK_SECRET" not in environ and "SOMETHING_ELSE" not in environ


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("not json", "is not JSON"),
        ([1, 2], "must be a JSON object"),
        ({"SLACK_BOT_TOKEN": 5}, "must be a string"),
    ],
)
def test_a_malformed_secret_is_a_config_error(secret: Any, message: str) -> None:
    from runtimes.lambda_handler import load_secrets

    with pytest.raises(ConfigError, match=message):
        load_secrets({"MLOPS_SECRETS_ARN": "arn:x"}, RecordingSecrets(secret))


def test_no_secret_arn_means_no_call() -> None:
    from runtimes.lambda_handler import load_secrets

    client = RecordingSecrets({})
    assert load_secrets({}, client) == [] and client.calls == []


def test_lambda_refuses_a_store_that_instances_cannot_share(tmp_path: Path) -> None:
    from bot.settings import load_settings
    from runtimes.lambda_handler import build_runtime

    settings = load_settings(
        mlops_store="sqlite", mlops_home=tmp_path, slack_bot_token="xoxb-1", slack_signing_secret="s"
    )
    with pytest.raises(ConfigError, match="MLOPS_STORE must be dynamodb"):
        build_runtime(settings)
