"""POST /ci/report: GitHub Actions OIDC tokens verified against a JWKS served over HTTP."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.core.records import NS_AUDIT, NS_VALIDATION
from bot.ingest.ci import OIDCVerifier, ReportError, parse_report
from handlers.render.run_message import run_key
from tests.handlers.events.conftest import AUDIENCE, ISSUER, REPO, Env, Issuer, unsigned_token

PATH = "/ci/report"
RUN_URL = "https://github.com/acme-ml/mlops-models/actions/runs/11873920455"
EXECUTION_ARN = (
    "arn:aws:sagemaker:eu-west-1:210987654321:pipeline/mlops-xgboost-pipeline/execution/k2v9d0q7wz1m"
)

REPORT = {
    "passed": True,
    "accuracy": 0.8712,
    "p95_ms": 41.3,
    "checks": [{"name": "ping", "passed": True}, {"name": "accuracy", "passed": True}],
}


def validation(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "staging_validation",
        "version": 3,
        "environment": "staging",
        "passed": True,
        "report": REPORT,
        "run_url": RUN_URL,
    }
    body.update(overrides)
    return body


def pipeline_result(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "pipeline_result",
        "execution_arn": EXECUTION_ARN,
        "status": "Succeeded",
        "model_package_arn": "arn:aws:sagemaker:eu-west-1:210987654321:model-package/mlops-xgboost/3",
        "version": 3,
        "metrics": {"accuracy": 0.8712, "auc": 0.9231},
        "git_sha": "4f9c1e27d3b8a6f0e5c2d1b0a9f8e7d6c5b4a321",
        "run_url": RUN_URL,
    }
    body.update(overrides)
    return body


def report(env: Env, body: Any, token: str | None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return env.client.post(PATH, content, headers)


def validations(env: Env) -> list[dict[str, Any]]:
    return [v for _, v in env.services.store.query(NS_VALIDATION)]


def nothing_happened(env: Env) -> None:
    assert validations(env) == []
    assert env.messages() == []


# -- accepted reports ---------------------------------------------------------------------------------


def test_passed_staging_validation_enables_promote(env: Env) -> None:
    env.serve("staging", 3)
    resp = report(env, validation(), env.issuer.token())
    assert resp.status_code == 200, resp.text
    assert "Promote is now available for v3" in resp.json()["message"]
    view = env.services.release.view(3)
    assert view.validation is not None and view.validation.passed
    assert view.validation.source == f"ci:{REPO}@{RUN_URL}"
    assert view.promotable
    (audit,) = [a for _, a in env.services.store.query(NS_AUDIT)]
    # CI acts for the GitHub user its token names (the signed ``actor`` claim), never the body's.
    assert (audit["actor_id"], audit["actor_name"], audit["action"]) == (
        f"ci:{REPO}",
        f"CI {REPO} for github:dana-k",
        "validate",
    )


def test_failed_validation_is_recorded_and_blocks_promote(env: Env) -> None:
    env.serve("staging", 3)
    failing = dict(REPORT, passed=False, checks=[{"name": "accuracy", "passed": False}])
    resp = report(env, validation(passed=False, report=failing), env.issuer.token())
    assert resp.status_code == 200
    assert "FAILED" in resp.json()["message"]
    assert not env.services.release.view(3).promotable


def test_numbers_as_strings_and_extra_fields_are_accepted(env: Env) -> None:
    env.serve("staging", 3)
    body = validation(version="3", workflow_attempt=2, report={"accuracy": 0.9})
    assert report(env, body, env.issuer.token()).status_code == 200
    assert validations(env)[0]["version"] == 3


def test_a_retried_post_acts_once(env: Env) -> None:
    env.serve("staging", 3)
    token = env.issuer.token()
    assert report(env, validation(), token).json()["result"] == "staging_validation"
    again = report(env, validation(), token)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert len(validations(env)) == 1


def test_without_jti_the_token_and_body_dedupe(env: Env) -> None:
    env.serve("staging", 3)
    token = env.issuer.token(jti=None)
    assert report(env, validation(), token).json()["result"] == "staging_validation"
    assert report(env, validation(), token).json()["duplicate"] is True
    assert len(validations(env)) == 1


def test_pipeline_result_is_a_reply_in_the_run_thread(env: Env) -> None:
    env.notifier.upsert(run_key(EXECUTION_ARN), "Run k2v9d0q7wz1m: Executing", [])
    env.messages()
    resp = report(env, pipeline_result(), env.issuer.token())
    assert resp.status_code == 200 and resp.json()["result"] == "pipeline_result"
    run, reply = env.messages()
    assert reply.thread_ts == run.ts
    assert "Succeeded" in reply.text
    blocks = json.dumps(reply.blocks)
    assert "v3" in blocks and "accuracy 0.871" in blocks and RUN_URL in blocks and "4f9c1e2" in blocks


@pytest.mark.parametrize(
    "run_url",
    [
        "javascript:alert(1)//https://github.com/",
        "https://evil.example/acme-ml/mlops-models/actions/runs/11873920455",
        "https://github.com.evil.example/x/actions/runs/1",
        "http://github.com/acme-ml/mlops-models/actions/runs/1|<!channel>",
    ],
)
def test_the_ci_run_link_is_built_from_the_tokens_claims_never_the_bodys_url(env: Env, run_url: str) -> None:
    env.notifier.upsert(run_key(EXECUTION_ARN), "Run k2v9d0q7wz1m: Executing", [])
    env.messages()
    resp = report(env, pipeline_result(run_url=run_url), env.issuer.token())
    replies = env.messages()[1:]
    blocks = json.dumps([r.blocks for r in replies]) + " ".join(r.text for r in replies)
    if resp.status_code == 400:  # not http(s): the body is refused whole
        assert "run_url" in resp.json()["error"] and replies == []
    else:
        assert resp.status_code == 200 and len(replies) == 1
        assert f"<{RUN_URL}|CI run>" in blocks  # the signed token's repository and run_id claims
    assert "evil.example" not in blocks and "javascript" not in blocks and "channel" not in blocks


def test_a_token_with_no_run_id_gets_no_ci_run_link(env: Env) -> None:
    env.notifier.upsert(run_key(EXECUTION_ARN), "Run k2v9d0q7wz1m: Executing", [])
    env.messages()
    assert report(env, pipeline_result(), env.issuer.token(run_id=None)).status_code == 200
    _, reply = env.messages()
    assert "CI run" not in json.dumps(reply.blocks) and "actions/runs" not in json.dumps(reply.blocks)


def test_the_github_user_comes_from_the_token_never_from_the_body(env: Env) -> None:
    env.notifier.upsert(run_key(EXECUTION_ARN), "Run k2v9d0q7wz1m: Executing", [])
    env.messages()
    body = pipeline_result(actor="mallory", requested_by="mallory", github_user="mallory")
    resp = report(env, body, env.issuer.token())
    assert resp.status_code == 200, resp.text
    _, reply = env.messages()
    blocks = json.dumps(reply.blocks)
    assert "for `github:dana-k`" in blocks and "mallory" not in blocks
    verifier = OIDCVerifier.from_settings(env.services.settings)
    actor = verifier.verify(env.issuer.token(actor="Dana-K")).as_actor()
    assert (actor.id, actor.identity, actor.name) == (
        f"ci:{REPO}",
        "github:dana-k",
        f"CI {REPO} for github:dana-k",
    )
    assert verifier.verify(env.issuer.token(actor=None)).as_actor().identity == f"ci:{REPO}"


def test_failed_pipeline_result_is_loud_and_finds_a_run_keyed_by_short_id(env: Env) -> None:
    env.notifier.upsert("run:k2v9d0q7wz1m", "Run k2v9d0q7wz1m", [])
    env.messages()
    body = pipeline_result(status="Failed", version=None, model_package_arn=None, failure_reason="OOM")
    assert report(env, body, env.issuer.token()).status_code == 200
    run, reply = env.messages()
    assert reply.thread_ts == run.ts
    assert "🚨" in reply.text and "OOM" in reply.text


def test_pipeline_result_retry_replies_once(env: Env) -> None:
    token = env.issuer.token()
    report(env, pipeline_result(), token)
    report(env, pipeline_result(), token)
    assert len(env.messages()) == 1


# -- refused tokens: 401 and nothing happens ---------------------------------------------------------


@pytest.mark.parametrize(
    ("make_token", "reason"),
    [
        (lambda iss, _: iss.token(exp=int(time.time()) - 120, iat=int(time.time()) - 600), "expired"),
        (lambda iss, _: iss.token(nbf=int(time.time()) + 600), "not valid yet"),
        (lambda iss, _: iss.token(iss="https://token.actions.example.org"), "issuer"),
        (lambda iss, _: iss.token(aud="sts.amazonaws.com"), "audience"),
        (lambda iss, _: iss.token(repository="mallory/mlops-models"), "may not report"),
        (lambda iss, _: iss.token(nbf=None), "'nbf'"),
        (lambda iss, _: iss.token(repository=None), "'repository'"),
        (lambda iss, keys: iss.token(kid="rotated-away"), "unknown signing key"),
        (lambda iss, keys: iss.token(key=keys[1]), "invalid token"),  # right kid, wrong key
        (lambda iss, _: unsigned_token({"alg": "none", "typ": "JWT"}, iss.claims()), "'none'"),
        (lambda iss, _: unsigned_token({"alg": "none", "kid": iss.kid}, iss.claims()), "'none'"),
        (
            lambda iss, _: unsigned_token({"alg": "HS256", "kid": iss.kid}, iss.claims(), iss.public_pem()),
            "'HS256'",
        ),
        (lambda iss, _: "not.a.jwt", "malformed token"),
        (lambda iss, _: iss.token()[:-6] + "AAAAAA", "invalid token"),  # tampered signature
    ],
)
def test_bad_tokens_are_401_and_nothing_is_posted(
    env: Env,
    rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey],
    make_token: Any,
    reason: str,
) -> None:
    env.serve("staging", 3)
    resp = report(env, validation(), make_token(env.issuer, rsa_keys))
    assert resp.status_code == 401, resp.text
    assert reason in resp.json()["reason"]
    nothing_happened(env)


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Basic dXNlcjpwYXNz", "Bearer", "Bearer  "],
)
def test_missing_token_is_401(env: Env, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    resp = env.client.post(PATH, json.dumps(validation()), headers)
    assert resp.status_code == 401
    nothing_happened(env)


def test_empty_allow_list_refuses_everyone(env: Env) -> None:
    env.rebuild(ci_allowed_repositories=[])
    resp = report(env, validation(), env.issuer.token())
    assert resp.status_code == 401
    assert "CI_ALLOWED_REPOSITORIES is empty" in resp.json()["reason"]
    nothing_happened(env)


def test_ref_and_environment_allow_lists(env: Env) -> None:
    env.serve("staging", 3)
    env.rebuild(ci_allowed_refs=["refs/heads/main"], ci_allowed_environments=["staging"])
    resp = report(env, validation(), env.issuer.token(ref="refs/heads/feature-x", environment="staging"))
    assert resp.status_code == 401 and "ref 'refs/heads/feature-x'" in resp.json()["reason"]
    resp = report(env, validation(), env.issuer.token(environment="production"))
    assert resp.status_code == 401 and "environment 'production'" in resp.json()["reason"]
    resp = report(env, validation(), env.issuer.token())  # no environment claim at all
    assert resp.status_code == 401
    nothing_happened(env)
    assert report(env, validation(), env.issuer.token(environment="staging")).status_code == 200


def test_token_is_checked_before_the_body(env: Env) -> None:
    resp = report(env, b"{definitely not json", env.issuer.token(aud="someone-else"))
    assert resp.status_code == 401


def test_unreachable_jwks_is_503(env: Env) -> None:
    env.rebuild(ci_oidc_jwks_url="http://127.0.0.1:9/.well-known/jwks")
    resp = report(env, validation(), env.issuer.token())
    assert resp.status_code == 503
    nothing_happened(env)


def test_keys_are_cached_between_requests(env: Env) -> None:
    env.serve("staging", 3)
    for _ in range(3):
        assert report(env, validation(), env.issuer.token()).status_code == 200
    assert env.issuer.hits == 1


def test_verifier_requires_issuer_and_audience(issuer: Issuer) -> None:
    with pytest.raises(ValueError, match="issuer and audience"):
        OIDCVerifier(issuer="", audience=AUDIENCE)
    verifier = OIDCVerifier(issuer=ISSUER + "/", audience=AUDIENCE, allowed_repositories=[REPO])
    assert verifier.jwks_url == f"{ISSUER}/.well-known/jwks"


# -- invalid bodies: 400 with the reasons ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reasons"),
    [
        (b"{not json", ["not JSON"]),
        ([], ["body"]),
        ({"kind": "deploy_everything"}, ["kind", "staging_validation", "pipeline_result"]),
        ({"version": 3}, ["kind"]),
        (validation(version=0), ["version: Input should be greater than 0"]),
        (validation(version="three"), ["version"]),
        ({k: v for k, v in validation().items() if k != "passed"}, ["passed: Field required"]),
        (validation(environment="production"), ["environment"]),
        (validation(passed=True, report={"passed": False}), ["disagrees with report.passed"]),
        (validation(run_url="javascript:alert(1)"), ["run_url", "http(s) URL"]),
        (pipeline_result(status="Exploded"), ["status"]),
        (pipeline_result(execution_arn=""), ["execution_arn"]),
        (pipeline_result(metrics={"accuracy": "high"}), ["metrics.accuracy"]),
    ],
)
def test_invalid_bodies_are_400_with_reasons(env: Env, body: Any, reasons: list[str]) -> None:
    env.serve("staging", 3)
    resp = report(env, body, env.issuer.token())
    assert resp.status_code == 400, resp.text
    for reason in reasons:
        assert reason in resp.json()["error"]
    nothing_happened(env)


def test_several_problems_are_all_listed() -> None:
    with pytest.raises(ReportError) as exc:
        parse_report(json.dumps({"kind": "staging_validation", "version": -1}).encode())
    message = str(exc.value)
    assert "version" in message and "passed: Field required" in message


# -- refused by state: 409, and a later retry can still act -------------------------------------------


def test_report_for_a_version_staging_does_not_serve_is_409(env: Env) -> None:
    env.serve("staging", 2)
    token = env.issuer.token()
    resp = report(env, validation(), token)
    assert resp.status_code == 409
    assert "staging serves v2, not v3" in resp.json()["error"]
    assert validations(env) == []
    env.serve("staging", 3)  # e.g. the deploy event was late
    assert report(env, validation(), token).status_code == 200


def test_report_for_a_version_gone_from_the_registry_is_409(env: Env) -> None:
    env.serve("staging", 3)
    env.delete_version(3)  # staging still serves it
    resp = report(env, validation(version=3), env.issuer.token())
    assert resp.status_code == 409
    assert "v3 does not exist" in resp.json()["error"]
    assert validations(env) == []
