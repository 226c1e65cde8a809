"""Hostile input, correctly signed: every intake answers 2xx or 4xx, logs no error, and a refusal
changes nothing.

Slack requests (slash-command fields, button payloads and action ids, modal submissions) and the
ingest routes (EventBridge, GitHub, CI) are all sent over real HTTP to the HTTP runtime, with valid
credentials, so that what is tested is the handling of content: wrong types, missing fields, huge
strings, unicode, JSON nested past the parser's limit, and bodies that are not JSON at all.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.models import Outcome
from bot.ingest import github
from tests.conftest import Closer, copy_home, platform_state
from tests.handlers.events.conftest import AUDIENCE, ISSUER, Issuer, fixture
from tests.runtimes.hardening.conftest import asgi_of, http_server, make_bench

#: Outcomes of every example, by test, for the suite's summary (printed with -s / -rA).
OUTCOMES: dict[str, Counter[str]] = {}

HYPOTHESIS = settings(
    max_examples=35,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the same examples every run: a failure here is reproducible as is
)

# -- values --------------------------------------------------------------------------------------------

SURROGATES: tuple[Literal["Cs"]] = ("Cs",)
TEXT = st.text(st.characters(exclude_categories=SURROGATES), max_size=40)  # no lone surrogates: not UTF-8
HUGE = st.integers(3_000, 200_000).map(lambda n: "x" * n)
UNICODE = st.sampled_from(
    ["v\u0662", "\u202ev1", "v1\u0000", "💥" * 50, "ｖ１", "\ufeffv1", "v1\u2028x", "Ω" * 3000]
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), TEXT, HUGE, UNICODE)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
#: JSON text nested past what the parser accepts (or just under it)
DEEP = st.sampled_from([900, 1000, 5000, 100_000]).flatmap(
    lambda n: st.sampled_from(["[" * n + "]" * n, '{"a":' * n + "1" + "}" * n])
)
NOT_JSON = st.one_of(
    TEXT.filter(lambda t: not _is_json(t)), st.sampled_from(["{", "[1,", '{"v":2', "NaN]", "\x00", "payload"])
)
DEEP_MARK = '"__deep__"'


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def with_deep(document: Any, deep: str) -> str:
    """``document`` as JSON with the value ``"__deep__"`` replaced by ``deep`` (too deep to build)."""
    return json.dumps(document).replace(DEEP_MARK, deep)


# -- the bench -----------------------------------------------------------------------------------------


class Target:
    """The HTTP runtime on a copy of the release home (v1 serves everywhere, v2 awaits approval).

    An example that changed the release (a hostile but valid request may approve v2) is followed by
    a new runtime on a new copy, so every example starts from the same state whatever came before.
    """

    def __init__(
        self, template: Path, root: Path, issuer: Issuer, caplog: pytest.LogCaptureFixture, later: Closer
    ) -> None:
        self.template, self.root, self.issuer, self.caplog, self.later = template, root, issuer, caplog, later
        self.homes = 0
        self._start()

    def _start(self) -> None:
        self.homes += 1
        self.bench = make_bench(
            copy_home(self.template, self.root / f"release-home-{self.homes}"),
            ci_oidc_issuer=ISSUER,
            ci_oidc_audience=AUDIENCE,
            ci_oidc_jwks_url=self.issuer.jwks_url,
        )
        self._stack = ExitStack()
        url = self._stack.enter_context(http_server(asgi_of(self.bench)))
        self.http = self._stack.enter_context(httpx.Client(base_url=url, timeout=30))

    def close(self) -> None:
        self._stack.close()
        self.bench.close(self.later)

    def state(self) -> tuple[Any, ...]:
        store = self.bench.services.store
        kept = tuple(tuple(store.query(ns)) for ns in ("decision", "deployment", "validation", "inflight"))
        return platform_state(self.bench.services.platform), kept

    def done(self) -> int:
        return sum(1 for e in self.bench.services.release.audit(1000) if e.outcome is Outcome.DONE)

    def send(self, name: str, path: str, body: bytes | str, headers: dict[str, Any]) -> httpx.Response | None:
        """Send one request and check the properties every hostile request must keep."""
        self.caplog.clear()
        before, done_before = self.state(), self.done()
        try:
            response = self.http.post(path, content=body, headers=headers)
        except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
            # Past the cap the server answers 413 from the declared length and closes at once; a
            # client still sending may see the reset before the answer. Anything smaller must be answered.
            size = len(body.encode() if isinstance(body, str) else body)
            assert size > self.bench.services.settings.mlops_max_body_bytes, "reset without cause"
            self.bench.settle()
            assert self.state() == before and self.done() == done_before
            OUTCOMES.setdefault(name, Counter())["reset"] += 1
            return None
        self.bench.settle()
        assert response.status_code < 500, f"{response.status_code}: {response.text[:300]}"
        if response.status_code >= 400:
            assert response.text.strip(), "a refusal without a message"
        errors = [r for r in self.caplog.records if r.levelno >= logging.ERROR]
        assert not errors, [f"{r.name}: {r.getMessage()[:300]}" for r in errors]
        if self.done() == done_before or response.status_code >= 400:
            assert self.state() == before, "refused, yet the release state changed"
        OUTCOMES.setdefault(name, Counter())[str(response.status_code)] += 1
        if self.done() != done_before or self.state() != before:
            self.close()
            self._start()
        return response

    def slack(self, name: str, body: str) -> httpx.Response | None:
        return self.send(name, "/slack/events", body, self.bench.headers(body))


@pytest.fixture
def target(
    release_template: Path,
    tmp_path: Path,
    issuer: Issuer,
    caplog: pytest.LogCaptureFixture,
    close_later: Closer,
) -> Iterator[Target]:
    caplog.set_level(logging.WARNING)
    built = Target(release_template, tmp_path, issuer, caplog, close_later)
    try:
        yield built
    finally:
        built.close()


USERS = st.sampled_from(["bob", "carol", "erin"])


@pytest.fixture(scope="module", autouse=True)
def _summary() -> Iterator[None]:
    yield
    for name, counts in sorted(OUTCOMES.items()):
        print(f"\n{name}: {sum(counts.values())} examples, HTTP status {dict(sorted(counts.items()))}")


# -- Slack ---------------------------------------------------------------------------------------------

COMMAND_FIELDS = [
    "command",
    "text",
    "user_id",
    "user_name",
    "channel_id",
    "response_url",
    "trigger_id",
    "team_id",
]


@HYPOTHESIS
@given(
    user=USERS,
    text=st.sampled_from(["approve v2", "promote v2", "rollback production", "status", "help"]) | TEXT,
    changes=st.dictionaries(
        st.sampled_from(COMMAND_FIELDS), st.one_of(TEXT, HUGE, UNICODE, st.none()), max_size=3
    ),
)
def test_slash_command_fields(target: Target, user: str, text: str, changes: dict[str, str | None]) -> None:
    form = {
        k: v[0] for k, v in parse_qs(target.bench.command_body(text, user), keep_blank_values=True).items()
    }
    for field, value in changes.items():
        if value is None:
            form.pop(field, None)
        else:
            form[field] = value
    target.slack("slash-command fields", urlencode(form))


ACTION_IDS = st.sampled_from(
    [
        "release_approve",
        "release_reject",
        "release_promote",
        "release_rollback",
        "rollback_confirm",
        "rollback_cancel",
    ]
)
ACTION_PATHS: list[tuple[Any, ...]] = [
    ("type",),
    ("user",),
    ("user", "id"),
    ("user", "username"),
    ("channel",),
    ("container",),
    ("response_url",),
    ("trigger_id",),
    ("actions",),
    ("actions", 0),
    ("actions", 0, "action_id"),
    ("actions", 0, "value"),
    ("actions", 0, "type"),
    ("message",),
]


def mutate(document: Any, path: tuple[Any, ...], value: Any) -> None:
    """Set ``document[path] = value`` where the parents exist and have the right shape."""
    parent = document
    for key in path[:-1]:
        try:
            parent = parent[key]
        except (KeyError, IndexError, TypeError):
            return
    try:
        parent[path[-1]] = value
    except (IndexError, TypeError):
        return


VALUES = st.one_of(
    JSON.map(json.dumps),
    st.builds(lambda v: json.dumps({"v": v}), SCALARS),
    st.builds(lambda e, f, t: json.dumps({"env": e, "from": f, "to": t}), SCALARS, SCALARS, SCALARS),
    TEXT,
    HUGE,
    UNICODE,
)


@HYPOTHESIS
@given(
    user=USERS,
    action_id=ACTION_IDS | TEXT | HUGE | UNICODE,
    value=VALUES,
    mutations=st.lists(st.tuples(st.sampled_from(ACTION_PATHS), JSON), max_size=3),
    deep=st.none() | DEEP,
    shape=st.sampled_from(["object", "not json", "not an object"]),
    junk=NOT_JSON,
)
def test_button_payloads(
    target: Target,
    user: str,
    action_id: str,
    value: str,
    mutations: list[tuple[tuple[Any, ...], Any]],
    deep: str | None,
    shape: str,
    junk: str,
) -> None:
    payload = target.bench.interaction_payload(action_id, value, user)
    for path, new in mutations:
        mutate(payload, path, copy.deepcopy(new))
    if deep is not None:
        mutate(payload, ("actions", 0, "value"), DEEP_MARK.strip('"'))
    text = with_deep(payload, deep) if deep is not None else json.dumps(payload)
    if shape == "not json":
        text = junk
    elif shape == "not an object":
        text = json.dumps([payload])
    target.slack("button payloads", urlencode({"payload": text}))


REASONS = st.one_of(TEXT, HUGE, UNICODE, st.just("   "), st.just("label leak"))


@HYPOTHESIS
@given(
    user=st.sampled_from(["bob", "erin"]),
    metadata=st.one_of(
        st.builds(lambda v: json.dumps({"v": v, "channel": "C0"}), SCALARS),
        JSON.map(json.dumps),
        TEXT,
        HUGE,
        DEEP,
        st.none(),
        st.integers(),
    ),
    reason=REASONS,
    state=st.one_of(
        st.builds(lambda r: {"reason": {"reason": {"type": "plain_text_input", "value": r}}}, SCALARS),
        st.builds(lambda r: {"reason": r}, JSON),
        JSON,
    ),
    use_reason=st.booleans(),
    callback=st.sampled_from(["reject_reason"]) | TEXT,
    view_mutation=st.none() | st.tuples(st.sampled_from(["view", "user", "type", "state"]), JSON),
)
def test_modal_submissions(
    target: Target,
    user: str,
    metadata: Any,
    reason: str,
    state: Any,
    use_reason: bool,
    callback: str,
    view_mutation: tuple[str, Any] | None,
) -> None:
    values = {"reason": {"reason": {"type": "plain_text_input", "value": reason}}} if use_reason else state
    payload = target.bench.view_payload(metadata, values, user)
    payload["view"]["callback_id"] = callback
    deep = metadata if isinstance(metadata, str) and metadata.startswith(("[[[", '{"a":{"a":')) else None
    if deep is not None:
        payload["view"]["private_metadata"] = DEEP_MARK.strip('"')
    if view_mutation is not None:
        key, new = view_mutation
        if key == "state":
            payload["view"]["state"] = new
        else:
            payload[key] = new
    text = with_deep(payload, json.dumps(deep)) if deep is not None else json.dumps(payload)
    target.slack("modal submissions", urlencode({"payload": text}))


@HYPOTHESIS
@given(body=st.one_of(NOT_JSON, DEEP, JSON.map(json.dumps), HUGE), form=st.booleans())
def test_slack_bodies_that_are_not_slack_requests(target: Target, body: str, form: bool) -> None:
    target.slack("raw Slack bodies", urlencode({"payload": body}) if form else body)


# -- EventBridge ---------------------------------------------------------------------------------------

EB_FIXTURES = [
    "eb_alarm_production_5xx.json",
    "eb_endpoint_deployment_failed.json",
    "eb_endpoint_in_service.json",
    "eb_model_package_approved.json",
    "eb_pipeline_execution_failed.json",
    "eb_pipeline_step_failed.json",
    "eb_training_job_failed.json",
]


def detail_paths(event: dict[str, Any]) -> list[tuple[Any, ...]]:
    paths: list[tuple[Any, ...]] = [
        ("id",),
        ("source",),
        ("detail-type",),
        ("detail",),
        ("time",),
        ("resources",),
    ]
    paths += [("detail", k) for k in event.get("detail", {})]
    return paths


@HYPOTHESIS
@given(data=st.data(), name=st.sampled_from(EB_FIXTURES), shape=st.sampled_from(["event", "batch", "raw"]))
def test_eventbridge_bodies(target: Target, data: st.DataObject, name: str, shape: str) -> None:
    event = fixture(name)
    event["id"] = data.draw(st.uuids().map(str))
    for path, new in data.draw(st.lists(st.tuples(st.sampled_from(detail_paths(event)), JSON), max_size=3)):
        mutate(event, path, new)
    if data.draw(st.booleans()):
        detail = event.get("detail")
        keys = list(detail) if isinstance(detail, dict) and detail else ["x"]
        mutate(event, ("detail", data.draw(st.sampled_from(keys))), DEEP_MARK.strip('"'))
    text = with_deep(event, data.draw(DEEP)) if DEEP_MARK in json.dumps(event) else json.dumps(event)
    if shape == "batch":
        text = f"[{text}, {json.dumps(fixture(name))}]"
    elif shape == "raw":
        text = data.draw(st.one_of(NOT_JSON, DEEP, JSON.map(json.dumps), HUGE))
    headers = {
        "authorization": f"Bearer {target.bench.secrets.events_token}",
        "content-type": "application/json",
    }
    target.send("EventBridge bodies", "/events/eventbridge", text.encode(), headers)


# -- GitHub --------------------------------------------------------------------------------------------

GH_EVENTS = {
    "workflow_run": "gh_workflow_run_requested.json",
    "workflow_job": "gh_workflow_job_failed.json",
    "check_run": "gh_check_run_failed.json",
    "deployment_status": "gh_deployment_status_failure.json",
    "ping": "gh_ping.json",
}


def all_paths(document: Any, prefix: tuple[Any, ...] = (), depth: int = 3) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    if depth and isinstance(document, dict):
        for key, value in document.items():
            out.append((*prefix, key))
            out += all_paths(value, (*prefix, key), depth - 1)
    return out


@HYPOTHESIS
@given(
    data=st.data(),
    event=st.sampled_from(list(GH_EVENTS))
    | st.text("abcdefghijklmnopqrstuvwxyz_-.é", min_size=1, max_size=30),
    shape=st.sampled_from(["payload", "payload", "raw", "bytes"]),
)
def test_github_bodies_correctly_signed(target: Target, data: st.DataObject, event: str, shape: str) -> None:
    payload = fixture(GH_EVENTS.get(event, "gh_workflow_run_requested.json"))
    paths = all_paths(payload)
    for path, new in data.draw(st.lists(st.tuples(st.sampled_from(paths), JSON), max_size=4)):
        mutate(payload, path, new)
    body: bytes = json.dumps(payload).encode()
    if shape == "raw":
        body = data.draw(st.one_of(NOT_JSON, DEEP, JSON.map(json.dumps), HUGE)).encode()
    elif shape == "bytes":
        body = data.draw(st.binary(max_size=200))
    headers = {
        "content-type": "application/json",
        "x-github-event": event.encode("utf-8", "replace").decode("latin-1"),
        "x-github-delivery": data.draw(st.uuids().map(str)),
        "x-hub-signature-256": github.sign(target.bench.secrets.github_secret, body),
    }
    target.send(
        "GitHub bodies", "/github/webhook", body, {k: v.encode("latin-1") for k, v in headers.items()}
    )


@HYPOTHESIS
@given(
    signature=st.lists(st.sampled_from([*range(0x21, 0x7F), *range(0xA0, 0x100)]), max_size=120).map(bytes)
)
def test_github_signature_headers(target: Target, signature: bytes) -> None:
    body = json.dumps(fixture("gh_ping.json")).encode()
    headers = {"x-github-event": b"ping", "x-hub-signature-256": b"sha256=" + signature}
    response = target.send("GitHub signature headers", "/github/webhook", body, headers)
    assert response is not None and response.status_code == 401


# -- CI ------------------------------------------------------------------------------------------------

VALID_REPORT: dict[str, Any] = {
    "kind": "staging_validation",
    "version": 2,
    "environment": "staging",
    "passed": True,
    "report": {"passed": True, "accuracy": 0.87, "checks": [{"name": "ping", "passed": True}]},
    "run_url": "https://github.com/acme-ml/mlops-models/actions/runs/1",
}
VALID_RESULT: dict[str, Any] = {
    "kind": "pipeline_result",
    "execution_arn": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/abc123",
    "status": "Failed",
    "failure_reason": "OOM",
    "version": 3,
    "metrics": {"accuracy": 0.8},
}


@HYPOTHESIS
@given(
    data=st.data(),
    base=st.sampled_from([VALID_REPORT, VALID_RESULT]),
    shape=st.sampled_from(["report", "raw"]),
)
def test_ci_bodies_correctly_authenticated(
    target: Target, data: st.DataObject, base: dict[str, Any], shape: str
) -> None:
    report = copy.deepcopy(base)
    for path, new in data.draw(st.lists(st.tuples(st.sampled_from(all_paths(report)), JSON), max_size=3)):
        mutate(report, path, new)
    body = json.dumps(report)
    if shape == "raw":
        body = data.draw(st.one_of(NOT_JSON, DEEP, JSON.map(json.dumps), HUGE))
    token = target.issuer.token(iat=int(time.time()))
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    target.send("CI bodies", "/ci/report", body.encode(), headers)


# -- the same guard on Lambda --------------------------------------------------------------------------

MALFORMED_SLACK = {
    "payload nested too deeply": urlencode({"payload": "[" * 5000 + "]" * 5000}),
    "payload not JSON": urlencode({"payload": "{not json"}),
    "payload a list": urlencode({"payload": "[1, 2]"}),
    "actions an object": urlencode(
        {"payload": json.dumps({"type": "block_actions", "user": {"id": "UBOB"}, "actions": {"0": {}}})}
    ),
    "action_id an object": urlencode(
        {
            "payload": json.dumps(
                {"type": "block_actions", "user": {"id": "UBOB"}, "actions": [{"action_id": {"x": 1}}]}
            )
        }
    ),
    "view a string": urlencode(
        {"payload": json.dumps({"type": "view_submission", "user": {"id": "U"}, "view": "x"})}
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED_SLACK))
def test_lambda_answers_malformed_signed_slack_bodies_with_400(
    release_home: Path,
    release_template: Path,
    tmp_path: Path,
    issuer: Issuer,
    caplog: pytest.LogCaptureFixture,
    close_later: Closer,
    case: str,
) -> None:
    from runtimes import lambda_handler
    from tests.runtimes.hardening.test_security import lambda_runtime
    from tests.runtimes.test_lambda_handler import Context, v2_event

    caplog.set_level(logging.WARNING)
    bench = make_bench(release_home)
    rt, invoker = lambda_runtime(bench, release_template, tmp_path / "lambda", issuer)
    previous = lambda_handler.set_runtime(rt)
    try:
        body = MALFORMED_SLACK[case]
        response = lambda_handler.handler(v2_event("/slack/events", body, bench.headers(body)), Context())
        assert response["statusCode"] == 400 and "malformed" in response["body"]
        assert invoker.calls == [] and rt.services.release.audit(5) == []
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    finally:
        lambda_handler.set_runtime(previous)
        close_later(rt.close)
        bench.close(close_later)
