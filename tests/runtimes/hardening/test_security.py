"""Security: signatures, replays, credentials of every intake, roles, and secrets kept out of sight.

Slack requests go through three transports (Bolt in process, the HTTP runtime over real HTTP, and
the Lambda handler with its asynchronous self-invocation); GitHub, CI and EventBridge through the
two that serve them (HTTP and Lambda). Every refusal is checked to change nothing.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.core.models import Action, Outcome
from bot.ingest import github
from bot.services import Services, build_services
from bot.store.sqlite import SQLiteStore
from bot.users import user_id
from ml.local import LocalPlatform
from runtimes import lambda_handler
from tests.conftest import Closer, copy_home, platform_state, train_version
from tests.handlers.events.conftest import AUDIENCE, ISSUER, Issuer, fixture, unsigned_token
from tests.runtimes.hardening.conftest import (
    REPO,
    Bench,
    Secrets,
    asgi_of,
    bench_settings,
    http_server,
    make_bench,
    wait_confirmation,
    wait_done,
)
from tests.runtimes.test_lambda_handler import Context, FakeLambda, v2_event

pytestmark = pytest.mark.long

FORM = "application/x-www-form-urlencoded"


# -- transports ----------------------------------------------------------------------------------------


class Transport(Protocol):
    name: str
    services: Services

    def slack(self, body: str, headers: dict[str, str]) -> int: ...

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]: ...

    def settle(self) -> None: ...

    def answers(self) -> list[dict[str, Any]]: ...


class InProcess:
    name = "in-process"

    def __init__(self, bench: Bench) -> None:
        self.bench, self.services = bench, bench.services

    def slack(self, body: str, headers: dict[str, str]) -> int:
        return int(self.bench.dispatch(body, headers).status)

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError("the ingest routes are served over HTTP")

    def settle(self) -> None:
        self.bench.settle()

    def answers(self) -> list[dict[str, Any]]:
        return self.bench.responses()


class Container(InProcess):
    """The HTTP runtime (``build_asgi`` with the ingest routes) served by uvicorn on 127.0.0.1."""

    name = "container"

    def __init__(self, bench: Bench, url: str) -> None:
        super().__init__(bench)
        self.client = httpx.Client(base_url=url, timeout=10)

    def slack(self, body: str, headers: dict[str, str]) -> int:
        return self.client.post("/slack/events", content=body, headers=headers).status_code

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        response = self.client.post(path, content=body, headers=headers)
        return response.status_code, response.json()


class Lambda:
    """The Lambda handler on function-URL events; lazy self-invocations are delivered at once."""

    name = "lambda"

    def __init__(self, bench: Bench, rt: lambda_handler.LambdaRuntime, invoker: FakeLambda) -> None:
        self.bench, self.rt, self.invoker, self.services = bench, rt, invoker, rt.services

    def _handle(self, event: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = lambda_handler.handler(event, Context())
        while self.invoker.calls:  # Lambda runs the lazy half as a new invocation
            lazy = json.loads(self.invoker.calls.pop(0)["Payload"])
            lambda_handler.handler(lazy, Context())
        return response

    def slack(self, body: str, headers: dict[str, str]) -> int:
        return int(self._handle(v2_event("/slack/events", body, headers))["statusCode"])

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        response = self._handle(v2_event(path, body.decode(), headers))
        return int(response["statusCode"]), json.loads(response["body"])

    def settle(self) -> None:
        return

    def answers(self) -> list[dict[str, Any]]:
        return self.bench.responses()


def lambda_runtime(
    bench: Bench, template: Path, home: Path, issuer: Issuer
) -> tuple[lambda_handler.LambdaRuntime, FakeLambda]:
    """A Lambda runtime as a cold start builds it, sharing LocalSlack.

    It has its own store and its own local platform, on a copy of ``template`` at ``home``.
    """
    copy_home(template, home)
    settings = bench_settings(
        bench.secrets,
        bench.slack,
        home,
        mlops_store="dynamodb",  # what Lambda requires; the store object itself is SQLite here
        ci_oidc_issuer=ISSUER,
        ci_oidc_audience=AUDIENCE,
        ci_oidc_jwks_url=issuer.jwks_url,
    )
    services = build_services(settings, store=SQLiteStore(home / "lambda.db"), host_endpoints_in_process=True)
    invoker = FakeLambda()
    rt = lambda_handler.build_runtime(
        settings, services=services, client=bench.slack.web_client(), lambda_client=invoker
    )
    return rt, invoker


@pytest.fixture
def bench(release_home: Path, issuer: Issuer, close_later: Closer) -> Iterator[Bench]:
    """The app on a copy of the release home: v1 serves staging and production, v2 awaits approval."""
    b = make_bench(
        release_home,
        ci_oidc_issuer=ISSUER,
        ci_oidc_audience=AUDIENCE,
        ci_oidc_jwks_url=issuer.jwks_url,
    )
    try:
        yield b
    finally:
        b.close(close_later)


@pytest.fixture
def open_transport(
    bench: Bench, tmp_path: Path, issuer: Issuer, release_template: Path, close_later: Closer
) -> Iterator[Callable[[str], Transport]]:
    with ExitStack() as stack:

        def open_(name: str) -> Transport:
            if name == "in-process":
                return InProcess(bench)
            if name == "container":
                url = stack.enter_context(http_server(asgi_of(bench)))
                return Container(bench, url)
            rt, invoker = lambda_runtime(bench, release_template, tmp_path / "lambda", issuer)
            previous = lambda_handler.set_runtime(rt)
            stack.callback(close_later, rt.close)
            stack.callback(lambda_handler.set_runtime, previous)
            return Lambda(bench, rt, invoker)

        yield open_


def release_state(services: Services) -> tuple[Any, ...]:
    kept = tuple(
        tuple(services.store.query(ns)) for ns in ("decision", "deployment", "validation", "inflight")
    )
    return platform_state(services.platform), kept


def done(services: Services, action: Action) -> int:
    return sum(1 for e in services.release.audit(100) if e.action is action and e.outcome is Outcome.DONE)


# -- Slack signatures ----------------------------------------------------------------------------------

SLACK_TRANSPORTS = ["in-process", "container", "lambda"]


def slack_request(bench: Bench, kind: str) -> str:
    """A state-changing request of each kind Slack sends: v2's approval or rejection."""
    if kind == "command":
        return bench.command_body("approve v2 looks good", "bob")
    if kind == "button":
        return bench.action_body("release_approve", '{"v":2}', "bob")
    meta = json.dumps({"v": 2, "channel": bench.channel})
    values = {"reason": {"reason": {"type": "plain_text_input", "value": "label leak"}}}
    return bench.view_body(meta, values, "bob")


def forge(bench: Bench, body: str, case: str) -> dict[str, str]:
    now = int(time.time())
    if case == "wrong secret":
        return bench.headers(body, secret="not-" + bench.secrets.signing_secret)
    if case == "stale (6 min)":
        return bench.headers(body, timestamp=now - 360)
    if case == "future (6 min)":
        return bench.headers(body, timestamp=now + 360)
    if case == "other body":
        return bench.headers(body + "&signed=another")
    if case == "timestamp swapped":
        signed = bench.headers(body, timestamp=now - 10)
        return {**signed, "x-slack-request-timestamp": str(now)}
    if case == "v1 scheme":
        signed = bench.headers(body)
        return {**signed, "x-slack-signature": signed["x-slack-signature"].replace("v0=", "v1=")}
    return {"content-type": FORM}  # unsigned


FORGERIES = [
    "wrong secret",
    "stale (6 min)",
    "future (6 min)",
    "other body",
    "timestamp swapped",
    "v1 scheme",
    "unsigned",
]


@pytest.mark.parametrize("case", FORGERIES)
@pytest.mark.parametrize("kind", ["command", "button", "modal"])
@pytest.mark.parametrize("transport_name", SLACK_TRANSPORTS)
def test_forged_or_stale_slack_requests_are_refused_and_change_nothing(
    bench: Bench, open_transport: Callable[[str], Transport], transport_name: str, kind: str, case: str
) -> None:
    transport = open_transport(transport_name)
    body = slack_request(bench, kind)
    before = release_state(transport.services)
    assert transport.slack(body, forge(bench, body, case)) == 401
    transport.settle()
    assert release_state(transport.services) == before
    assert transport.services.release.audit(10) == []  # not even a denial: nobody was identified
    assert transport.answers() == [] and bench.slack.calls("views.open") == []


@pytest.mark.parametrize("kind", ["command", "button", "modal"])
@pytest.mark.parametrize("transport_name", SLACK_TRANSPORTS)
def test_a_replayed_signed_request_acts_once(
    bench: Bench, open_transport: Callable[[str], Transport], transport_name: str, kind: str
) -> None:
    transport = open_transport(transport_name)
    body = slack_request(bench, kind)
    headers = bench.headers(body)
    statuses = [transport.slack(body, headers) for _ in range(3)]  # identical, within five minutes
    transport.settle()
    assert statuses == [200, 200, 200]
    action = Action.REJECT if kind == "modal" else Action.APPROVE
    assert done(transport.services, action) == 1
    entries = [e for e in transport.services.release.audit(100) if e.action is action]
    assert len(entries) == 1, [e.detail for e in entries]  # the repeats never reached the core
    status = transport.services.platform.describe_model_package(2).approval_status.value
    assert status == ("Rejected" if kind == "modal" else "Approved")


# -- GitHub, CI and EventBridge credentials ------------------------------------------------------------

INGEST_TRANSPORTS = ["container", "lambda"]


def github_request(bench: Bench, case: str) -> tuple[str, bytes, dict[str, str]]:
    payload = fixture("gh_workflow_run_requested.json")
    payload["repository"]["full_name"] = REPO
    body = json.dumps(payload).encode()
    secret = bench.secrets.github_secret
    signature = {
        "valid": github.sign(secret, body),
        "wrong secret": github.sign(secret + "x", body),
        "other body": github.sign(secret, body + b" "),
        "sha1 scheme": github.sign(secret, body).replace("sha256=", "sha1="),
        "truncated": github.sign(secret, body)[:-8],
        "events token as secret": github.sign(bench.secrets.events_token, body),
        "missing": "",
    }[case]
    headers = {
        "content-type": "application/json",
        "x-github-event": "workflow_run",
        "x-github-delivery": str(uuid.uuid4()),
    }
    if signature:
        headers["x-hub-signature-256"] = signature
    return "/github/webhook", body, headers


CI_TOKENS: dict[str, Callable[[Issuer, tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]], str]] = {
    "valid": lambda iss, _: iss.token(),
    "wrong issuer": lambda iss, _: iss.token(iss="https://token.actions.example.org"),
    "wrong audience": lambda iss, _: iss.token(aud="sts.amazonaws.com"),
    "expired": lambda iss, _: iss.token(exp=int(time.time()) - 120, iat=int(time.time()) - 900),
    "unknown kid": lambda iss, _: iss.token(kid="rotated-away"),
    "another key": lambda iss, keys: iss.token(key=keys[1]),
    "alg none": lambda iss, _: unsigned_token({"alg": "none", "kid": iss.kid}, iss.claims()),
    "HS256 with the public key": lambda iss, _: unsigned_token(
        {"alg": "HS256", "kid": iss.kid}, iss.claims(), iss.public_pem()
    ),
    "repository not allowed": lambda iss, _: iss.token(repository="mallory/mlops-models"),
}


def ci_request(token: str) -> tuple[str, bytes, dict[str, str]]:
    report = {
        "kind": "pipeline_result",
        "execution_arn": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/abc123",
        "status": "Succeeded",
        "version": 2,
    }
    headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
    return "/ci/report", json.dumps(report).encode(), headers


def eventbridge_request(bench: Bench, case: str) -> tuple[str, bytes, dict[str, str]]:
    token = {
        "valid": bench.secrets.events_token,
        "wrong token": bench.secrets.events_token[:-1] + "x",
        "GitHub secret as token": bench.secrets.github_secret,
        "empty": "",
    }[case]
    body = json.dumps(fixture("eb_model_package_approved.json") | {"id": str(uuid.uuid4())}).encode()
    headers = {"content-type": "application/json"}
    if case != "empty":
        headers["authorization"] = f"Bearer {token}"
    return "/events/eventbridge", body, headers


INGEST_CASES = (
    [
        ("github", c)
        for c in ("wrong secret", "other body", "sha1 scheme", "truncated", "events token as secret")
    ]
    + [("github", "missing")]
    + [("ci", c) for c in CI_TOKENS if c != "valid"]
    + [("eventbridge", c) for c in ("wrong token", "GitHub secret as token", "empty")]
)


def ingest_request(
    bench: Bench, issuer: Issuer, keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey], route: str, case: str
) -> tuple[str, bytes, dict[str, str]]:
    if route == "github":
        return github_request(bench, case)
    if route == "ci":
        return ci_request(CI_TOKENS[case](issuer, keys))
    return eventbridge_request(bench, case)


@pytest.mark.parametrize(("route", "case"), INGEST_CASES, ids=[f"{r}-{c}" for r, c in INGEST_CASES])
@pytest.mark.parametrize("transport_name", INGEST_TRANSPORTS)
def test_bad_ingest_credentials_are_401_and_nothing_happens(
    bench: Bench,
    open_transport: Callable[[str], Transport],
    issuer: Issuer,
    rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey],
    transport_name: str,
    route: str,
    case: str,
) -> None:
    transport = open_transport(transport_name)
    before = release_state(transport.services)
    status, answer = transport.post(*ingest_request(bench, issuer, rsa_keys, route, case))
    assert status == 401 and answer["error"] == "unauthorized" and answer["reason"]
    assert release_state(transport.services) == before
    assert transport.services.store.query("outbox") == [] and bench.slack.calls("chat.postMessage") == []


@pytest.mark.parametrize("transport_name", INGEST_TRANSPORTS)
def test_the_same_requests_with_good_credentials_are_accepted(
    bench: Bench,
    open_transport: Callable[[str], Transport],
    issuer: Issuer,
    rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey],
    transport_name: str,
) -> None:
    """The control for the refusals above: only the credential differed."""
    transport = open_transport(transport_name)
    for route in ("github", "ci", "eventbridge"):
        status, answer = transport.post(*ingest_request(bench, issuer, rsa_keys, route, "valid"))
        assert status == 200 and answer["ok"], (route, answer)


# -- roles ---------------------------------------------------------------------------------------------


def test_four_eyes_holds_for_commands_and_buttons(bench: Bench) -> None:
    platform = bench.services.platform
    assert isinstance(platform, LocalPlatform)
    version = train_version(platform, user_id("frank"))  # frank trains, and is an approver too
    assert platform.flush_events()
    bench.settle()
    before = release_state(bench.services)
    bench.dispatch(bench.command_body(f"approve v{version} mine is great", "frank"))
    bench.dispatch(bench.action_body("release_approve", json.dumps({"v": version}), "frank"))
    bench.settle()
    answers = [r["text"] for r in bench.responses()]
    assert len(answers) == 2 and all("Four-eyes rule" in a for a in answers), answers
    assert release_state(bench.services) == before
    refused = [e for e in bench.services.release.audit(10) if e.actor_id == user_id("frank")]
    assert [(e.action, e.outcome) for e in refused] == [(Action.APPROVE, Outcome.REFUSED)] * 2
    bench.dispatch(bench.action_body("release_approve", json.dumps({"v": version}), "bob"))
    bench.settle()
    assert platform.describe_model_package(version).approval_status.value == "Approved"


@pytest.mark.parametrize("user", ["alice", "bob", "carol", "dave", "frank", "erin"])
def test_the_reject_modal_is_checked_against_roles_at_submission(bench: Bench, user: str) -> None:
    body = slack_request(bench, "modal").replace(user_id("bob"), user_id(user))
    before = release_state(bench.services)
    response = bench.dispatch(body)
    bench.settle()
    allowed = user in ("bob", "frank")
    status = bench.services.platform.describe_model_package(2).approval_status.value
    if allowed:
        assert response.status == 200 and status == "Rejected"
        assert done(bench.services, Action.REJECT) == 1
    else:
        answer = json.loads(response.body)
        assert answer["response_action"] == "errors"
        assert "You need the *approver* role to reject" in answer["errors"]["reason"]
        assert release_state(bench.services) == before
        entry = bench.services.release.audit(1)[0]
        assert (entry.actor_id, entry.action, entry.outcome) == (
            user_id(user),
            Action.REJECT,
            Outcome.REFUSED,
        )


# -- secrets stay secret -------------------------------------------------------------------------------


def test_no_secret_reaches_logs_slack_or_responses(
    home: Path,
    issuer: Issuer,
    rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every level
    bench = make_bench(
        home, ci_oidc_issuer=ISSUER, ci_oidc_audience=AUDIENCE, ci_oidc_jwks_url=issuer.jwks_url
    )
    ci_token = issuer.token()
    answers: list[str] = []
    try:
        with http_server(asgi_of(bench)) as url, httpx.Client(base_url=url, timeout=10) as http:

            def slack(body: str, headers: dict[str, str] | None = None) -> None:
                answers.append(
                    http.post("/slack/events", content=body, headers=headers or bench.headers(body)).text
                )

            def post(request: tuple[str, bytes, dict[str, str]]) -> None:
                path, body, headers = request
                answers.append(http.post(path, content=body, headers=headers).text)

            # a whole release, with the denials and forgeries that come with real use
            slack(
                bench.command_body(
                    "train InputData=adult-sample.data num_round=20 max_depth=4 AccuracyThreshold=0.8",
                    "alice",
                )
            )
            slack(bench.command_body("approve v1", "erin"))  # denied
            body = bench.command_body("promote v1", "carol")
            slack(body, bench.headers(body, secret="guess"))  # forged
            slack(body, bench.headers(body, timestamp=int(time.time()) - 600))  # stale
            # the home's own run registered v1: until alice's run is recorded, it is the latest one
            bench.wait_until(
                lambda: bench.services.platform.list_executions(1)[0].model_version == 2, "v2", 120
            )
            slack(bench.action_body("release_approve", '{"v":1}', "bob"))
            wait_done(bench, Action.VALIDATE, 1)
            slack(bench.action_body("promote_confirm", '{"v":1,"from":0}', "carol"))
            wait_done(bench, Action.PROMOTE, 1)
            slack(bench.command_body("approve v2", "bob"))
            wait_done(bench, Action.VALIDATE, 2)
            slack(bench.action_body("promote_confirm", '{"v":2,"from":1}', "dave"))  # denied: oncall only
            slack(bench.action_body("promote_confirm", '{"v":2,"from":1}', "carol"))
            wait_done(bench, Action.PROMOTE, 2)
            asked = bench.response_url("dave")
            slack(bench.command_body("rollback production", "dave", response_url=asked))
            slack(bench.action_body("rollback_confirm", wait_confirmation(bench, asked), "dave"))
            wait_done(bench, Action.ROLLBACK, 1)
            slack(bench.command_body("audit 50", "erin"))
            # every intake, with good and bad credentials
            for route, case in [*INGEST_CASES, ("github", "valid"), ("eventbridge", "valid")]:
                post(ingest_request(bench, issuer, rsa_keys, route, case))
            post(ci_request(ci_token))
            post(
                (
                    "/events/eventbridge",
                    b"{not json",
                    {"authorization": f"Bearer {bench.secrets.events_token}"},
                )
            )
            answers.append(http.get("/metrics").text + http.get("/healthz").text)
            bench.settle()
            assert bench.notifier.flush(timeout=30)
        secrets_ = {**bench.secrets.values(), "CI token": ci_token}
        logged = [r.getMessage() for r in caplog.records] + [caplog.text]
        slack_traffic = [json.dumps([c.method, c.args, c.response], default=str) for c in bench.slack.calls()]
        slack_traffic += [m.text + json.dumps(m.blocks) for m in bench.slack.messages(include_deleted=True)]
        stored = [
            json.dumps(bench.services.store.query(ns), default=str)
            for ns in ("audit", "decision", "deployment", "validation", "message", "outbox", "outbox_dead")
        ]
        assert len(caplog.records) > 100 and len(slack_traffic) > 20  # there was plenty to leak into
        for name, value in secrets_.items():
            for where, texts in (
                ("logs", logged),
                ("Slack", slack_traffic),
                ("responses", answers),
                ("store", stored),
            ):
                assert not any(value in t for t in texts), f"the {name} appears in {where}"
        assert done(bench.services, Action.ROLLBACK) == 1
    finally:
        bench.close()


def test_secrets_are_distinct_and_long_enough_to_search_for() -> None:
    values = list(Secrets().values().values())
    assert len(set(values)) == len(values) and min(map(len, values)) >= 24
