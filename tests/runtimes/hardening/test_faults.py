"""Fault injection: Slack, AWS, the store and the process itself fail in the middle of a release.

Each test drives real operations while something underneath fails, then checks the one property
that matters for that layer: notifications arrive exactly once and in order; an AWS failure either
completes once or changes nothing; nothing is announced that was not persisted; a killed process is
picked up on restart.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from moto import mock_aws
from slack_sdk import WebClient

from bot.core.models import Action, Actor, Outcome, Result
from bot.core.records import Records
from bot.core.service import ReleaseService
from bot.core.store import StoreError
from bot.notify import payload_hash
from bot.store.sqlite import SQLiteStore
from bot.users import LocalUser, user_id
from handlers.render.run_message import run_key
from ml.local import LocalPlatform
from ml.platform import ENVIRONMENTS, ApprovalStatus, Environment
from ml.sagemaker import SageMakerPlatform
from ml.sagemaker.clients import aws_session
from runtimes.slack_local import LocalSlack
from tests.conftest import BOB, CAROL, Closer, copy_home, wait_for_process
from tests.local_slack import AnswerLog
from tests.ml.sagemaker import moto_sagemaker
from tests.runtimes.hardening.chaos import KINDS, ChaosProxy
from tests.runtimes.hardening.conftest import (
    USERS,
    Bench,
    FlakyStore,
    Secrets,
    make_bench,
    wait_confirmation,
    wait_done,
)

pytestmark = pytest.mark.long

log = logging.getLogger(__name__)


# -- (a) Slack fails during a release ------------------------------------------------------------------


def drive_release(bench: Bench) -> None:
    """train -> approve v1 -> promote v1 -> approve v2 -> promote v2 -> rollback, all as signed requests."""
    platform = bench.services.platform
    assert bench.dispatch(
        bench.command_body(
            "train InputData=adult-sample.data num_round=20 max_depth=4 AccuracyThreshold=0.8", "alice"
        )
    )
    wait_done(bench, Action.TRAIN, 1)
    bench.wait_until(
        lambda: (
            platform.list_executions(1)[0].status.terminal and platform.list_executions(1)[0].model_version
        ),
        "the training run to register v2",
        120,
    )
    bench.dispatch(bench.action_body("release_approve", '{"v":1}', "bob"))
    wait_done(bench, Action.VALIDATE, 1)
    bench.dispatch(bench.action_body("promote_confirm", '{"v":1,"from":0}', "carol"))
    wait_done(bench, Action.PROMOTE, 1)
    bench.dispatch(bench.command_body("approve v2 better recall", "bob"))
    wait_done(bench, Action.VALIDATE, 2)
    bench.dispatch(bench.action_body("promote_confirm", '{"v":2,"from":1}', "carol"))
    wait_done(bench, Action.PROMOTE, 2)
    asked = bench.response_url("carol")
    bench.dispatch(bench.command_body("rollback production", "carol", response_url=asked))
    bench.dispatch(bench.action_body("rollback_confirm", wait_confirmation(bench, asked), "carol"))
    wait_done(bench, Action.ROLLBACK, 1)
    bench.settle()


def assert_delivered_exactly_once_in_order(bench: Bench) -> None:
    slack, notifier = bench.slack, bench.notifier
    posted = [
        m for m in slack.messages(bench.channel) if m.via == "api" and m.ephemeral_to is None and not m.files
    ]
    latest: dict[str, Any] = {}
    replies: dict[str, list[str]] = defaultdict(list)
    for q in notifier.queued:
        if q.op == "upsert":
            latest[q.key] = q
        else:
            replies[q.key].append(q.text)
    # every keyed message exists once and shows its newest state
    refs = {}
    for key, q in latest.items():
        ref = notifier.ref(key)
        assert ref is not None, f"{key} was never posted"
        message = slack.message(*ref)
        assert message is not None and message.text == q.text, f"{key} does not show its newest state"
        stored = bench.services.store.get("message", key)
        assert stored is not None and stored["hash"] == payload_hash(q.text, q.blocks)
        refs[key] = ref[1]
    assert len(set(refs.values())) == len(refs), "two keys share one message"
    # every reply arrived once, in the order it was queued, in its parent's thread
    for thread_key, texts in replies.items():
        parent_ts = refs.get(thread_key)
        assert parent_ts is not None, f"replies to {thread_key}, which was never upserted"
        # the outbox's replies; a file share (a card's confusion matrix) is no outbox message
        replied = [m for m in slack.replies(bench.channel, parent_ts) if not m.files]
        shown = [m.text for m in sorted(replied, key=lambda m: m.ts)]
        assert shown == texts, f"thread {thread_key}: {shown} != {texts}"
    expected = len(latest) + sum(len(t) for t in replies.values())
    assert len(posted) == expected, f"{len(posted)} messages in the channel, {expected} notifications queued"


def assert_applied_once(bench: Bench) -> None:
    release, platform = bench.services.release, bench.services.platform
    assert [(r.kind, r.version) for r in release.history("production")] == [
        ("promote", 1),
        ("promote", 2),
        ("rollback", 1),
    ]
    assert [(r.kind, r.version) for r in release.history("staging")] == [("deploy", 1), ("deploy", 2)]
    assert [(d.kind, d.version) for d in platform.endpoint_history("production")] == [
        ("deploy", 1),
        ("deploy", 2),
        ("rollback", 1),
    ]
    assert [d.version for d in platform.endpoint_history("staging")] == [1, 2]
    assert [p.approval_status.value for p in platform.list_model_packages()] == ["Approved", "Approved"]
    done = Counter(e.action for e in release.audit(500) if e.outcome is Outcome.DONE)
    assert done == {
        Action.TRAIN: 1,
        Action.APPROVE: 2,
        Action.DEPLOY: 2,
        Action.VALIDATE: 2,
        Action.PROMOTE: 2,
        Action.ROLLBACK: 1,
    }


def test_slack_faults_during_a_release_lose_nothing_and_double_nothing(home: Path) -> None:
    secrets_ = Secrets()
    users = [LocalUser(user_id(n), n, groups) for n, groups in USERS.items()]
    slack = AnswerLog(users, token=secrets_.bot_token, channels=("mlops",)).start()
    proxy = ChaosProxy(slack.url, rate=0.3, hold_seconds=30, seed=3).start()
    # Only the notifier goes through the unreliable network: role lookups and response URLs stay
    # reliable, so every request is acted on and only delivery to the channel is tested.
    client = WebClient(token=secrets_.bot_token, base_url=proxy.api_url, timeout=0.3)  # type: ignore[arg-type]
    # Half the calls fail here, so eight attempts can run out by chance; this test is about order and
    # exactly-once under passing faults. Giving up after bounded retries:
    # tests/bot/notify/test_dead_letters.py.
    bench = make_bench(home, notifier_client=client, slack=slack, secrets_=secrets_, notifier_attempts=100)
    slack.set_error_rate(0.15, status=500, methods={"chat.postMessage", "chat.update"}, seed=5)
    slack.fail_next("chat.update", status=503)
    slack.fail_next("chat.postMessage", status=500, times=2)
    try:
        drive_release(bench)
        # Delivery goes on under the same faults: retries, not the end of the faults, drain the outbox.
        assert bench.notifier.flush(timeout=60), "the outbox did not drain under faults"
        proxy.rate = 0.0
        slack.clear_faults()
        assert bench.notifier.flush(timeout=10)
        assert bench.notifier.dead_letters() == []
        server_errors = [c for c in slack.calls() if c.method.startswith("chat.") and c.status >= 500]
        log.info("injected %s and %d HTTP 5xx", dict(proxy.injected), len(server_errors))
        assert all(proxy.injected[k] >= 1 for k in KINDS) and server_errors, "every kind of fault must occur"
        assert_delivered_exactly_once_in_order(bench)
        assert_applied_once(bench)
        run = bench.notifier.ref(run_key(bench.services.platform.list_executions(1)[0].execution_id))
        assert run is not None
        final = slack.message(*run)
        assert final is not None and "Succeeded" in final.text
        card2 = bench.notifier.ref("card:v2")
        assert card2 is not None
        assert "rolled back from v2 to v1" in json.dumps([m.text for m in slack.replies(*card2)])
    finally:
        bench.close()
        proxy.close()
        slack.close()


# -- (c) the store fails on a write inside approve / promote / rollback --------------------------------

ReleaseOp = Callable[[Any], Any]


def _approve(release: Any) -> Any:
    return release.approve(BOB, 2, "fine")


def _promote(release: Any) -> Any:
    return release.promote(CAROL, 2)


def _rollback(release: Any) -> Any:
    return release.rollback(CAROL, "production", 1)  # the target named, as the confirm button does


#: operation -> (what runs before it without faults, the operation, the state it must reach)
STORE_OPS: dict[str, tuple[list[ReleaseOp], ReleaseOp]] = {
    "approve": ([], _approve),
    "promote": ([_approve], _promote),
    "rollback": ([_approve, _promote], _rollback),
}


class CoreBench:
    """Release cores on copies of the release home (v1 serves everywhere, v2 awaits approval).

    Each has its own flaky store. A test works on one core at a time: building the next retires the
    previous one, which is closed in the background.
    """

    def __init__(self, template: Path, root: Path, close_later: Closer) -> None:
        self.template, self.root, self.close_later = template, root, close_later
        self._current: list[Callable[[], object]] = []

    def __call__(self, name: str) -> tuple[Any, FlakyStore, list[Result]]:
        self.retire()
        home = copy_home(self.template, self.root / name)
        platform = LocalPlatform(home, host_endpoints_in_process=True)
        store = FlakyStore(SQLiteStore(home / "bot.db"))
        self._current = [platform.close, store.close]
        release = ReleaseService(platform, store)
        announced: list[Result] = []
        release.subscribe(announced.append)
        return release, store, announced

    def retire(self) -> None:
        if self._current:
            self.close_later(*self._current)
            self._current = []


@pytest.fixture
def core_bench(release_template: Path, tmp_path: Path, close_later: Closer) -> Iterator[CoreBench]:
    bench = CoreBench(release_template, tmp_path, close_later)
    try:
        yield bench
    finally:
        bench.retire()


def assert_announced_was_persisted(release: Any, announced: list[Result]) -> None:
    audit = Counter((e.action, e.outcome, e.actor_id) for e in release.audit(500))
    for result, count in Counter((r.action, r.outcome, r.actor.id) for r in announced).items():
        assert audit[result] >= count, f"announced {result} without its audit entry"
    for r in announced:
        if r.outcome is not Outcome.DONE:
            continue
        if r.action in (Action.APPROVE, Action.REJECT):
            decision = release.records.decision(r.version)
            assert decision is not None and decision.status.value == r.data["status"]
        elif r.action in (Action.DEPLOY, Action.PROMOTE, Action.ROLLBACK):
            assert any(
                d.version == r.version and d.kind == r.data["kind"] for d in release.history(r.environment)
            ), f"announced {r.message!r} without a deployment record"
        elif r.action is Action.VALIDATE:
            assert release.records.latest_validation(r.version) is not None


def assert_store_agrees_with_platform(release: Any) -> None:
    assert release.records.inflight() == [], "an in-flight marker outlived its operation"
    for env in ENVIRONMENTS:
        serving = release.serving(env)
        history = release.history(env)
        if history or serving != 1:  # v1 served everywhere before the bot did anything
            assert history and history[-1].version == serving, f"{env} serves v{serving}; store: {history}"
    package = release.platform.describe_model_package(2)
    decision = release.records.decision(2)
    if package.approval_status is ApprovalStatus.PENDING:
        assert decision is None
    else:
        assert decision is not None and decision.status is package.approval_status


def assert_store_op_applied_once(release: Any, op_name: str) -> None:
    if op_name == "approve":
        assert release.records.decision(2) is not None
        assert [(r.kind, r.version) for r in release.history("staging")] == [("deploy", 2)]
    elif op_name == "promote":
        assert [(r.kind, r.version) for r in release.history("production")] == [("promote", 2)]
    else:
        production = [(r.kind, r.version) for r in release.history("production")]
        assert production == [("promote", 2), ("rollback", 1)]
    decisions = [e for e in release.audit(100) if e.action is Action.APPROVE and e.outcome is Outcome.DONE]
    assert len(decisions) <= 1


@pytest.mark.parametrize("op_name", list(STORE_OPS))
def test_a_store_write_failing_anywhere_announces_nothing_unpersisted(
    core_bench: CoreBench, op_name: str
) -> None:
    setup, op = STORE_OPS[op_name]
    release, store, _ = core_bench(f"{op_name}-clean")
    for step in setup:
        step(release)
    store.arm(None)
    before = len(store.writes)
    assert op(release).outcome is Outcome.DONE
    positions = len(store.writes) - before
    assert positions >= 4
    outcomes: Counter[str] = Counter()
    for nth in range(1, positions + 1):
        release, store, announced = core_bench(f"{op_name}-{nth}")
        for step in setup:
            assert step(release).ok
        announced.clear()
        store.arm(nth)
        try:
            first: Result | None = op(release)
        except StoreError:
            first = None
        assert store.failed is not None, f"write {nth} of {op_name} was not reached"
        assert_announced_was_persisted(release, announced)
        # the next attempt completes the operation, or says clearly that it is already done
        again = op(release)
        assert again.outcome in (Outcome.DONE, Outcome.NOOP), f"write {nth} ({store.failed}): {again.message}"
        assert again.message
        assert_announced_was_persisted(release, announced)
        assert_store_agrees_with_platform(release)
        assert_store_op_applied_once(release, op_name)
        outcomes[f"{'raised' if first is None else first.outcome.value}/{again.outcome.value}"] += 1
    log.info("%s: %d write positions: %s", op_name, positions, dict(outcomes))


# -- (b) AWS throttles, fails and times out inside approve / promote / rollback ------------------------

AWS_KINDS = ("throttle", "server_error", "read_timeout", "lost_response")
#: calls that change AWS: a response lost after one of them leaves the change in place
MUTATING = re.compile(r"(Create|Update|Delete|Put|Register|Add)[A-Z]")


class AwsFaults:
    """Fails the n-th AWS call from now: throttling, HTTP 500, a read timeout before the request
    reaches AWS, or a read timeout after AWS applied it (the response is lost)."""

    def __init__(self, clients: list[Any]) -> None:
        self.calls: list[str] = []
        self.injected: Counter[str] = Counter()
        self._at: str | None = None
        self._kind = ""
        self._lose: str | None = None
        for client in clients:
            client.meta.events.register_first("before-send", self._before_send)
            client.meta.events.register("after-call", self._after_call)

    def arm(self, operation: str, kind: str) -> None:
        """Fail the next call of ``operation`` (e.g. "UpdateEndpoint") with ``kind``."""
        self._at, self._kind = operation, kind

    def disarm(self) -> None:
        self._at = None

    @property
    def pending(self) -> bool:
        return self._at is not None

    def _before_send(self, event_name: str, **_: Any) -> None:
        op = event_name.rsplit(".", 1)[-1]
        service = event_name.split(".")[1]
        self.calls.append(op)
        if self._at != op:
            return
        self._at = None
        kind = self._kind
        if kind == "lost_response" and not MUTATING.match(op):
            kind = "read_timeout"
        self.injected[kind] += 1
        if kind == "read_timeout":
            raise ReadTimeoutError(endpoint_url=f"https://{service}.us-east-1.amazonaws.com/")
        if kind == "lost_response":
            self._lose = op
            return
        code, status = ("ThrottlingException", 400) if kind == "throttle" else ("InternalFailure", 500)
        if service == "sagemaker":  # answered by moto, so botocore parses it as it would AWS's
            moto_sagemaker.inject_failure(op, code, f"injected {kind}", status=status)
            return
        error: Any = {
            "Error": {"Code": code, "Message": f"injected {kind}"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        raise ClientError(error, op)

    def _after_call(self, event_name: str, **_: Any) -> None:
        op = event_name.rsplit(".", 1)[-1]
        if self._lose == op:
            self._lose = None
            raise ReadTimeoutError(endpoint_url="https://sagemaker.us-east-1.amazonaws.com/")


@dataclass
class AwsBench:
    release: ReleaseService
    faults: AwsFaults
    sm: Any
    s3: Any

    def new_version(self) -> int:
        pkg = moto_sagemaker.register_model_package(
            self.sm, self.s3, self.release.platform.model_package_group, lineage={"requested_by": "UALICE"}
        )
        return pkg.version

    def validated(self, version: int) -> None:
        report = {"passed": True, "accuracy": 0.87, "checks": []}
        assert self.release.record_validation(
            CI, version, "staging", True, report, "ci:acme-ml/mlops-models"
        ).ok


CI = Actor("ci:acme-ml/mlops-models", "CI", system=True)


@pytest.fixture
def aws_bench(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[AwsBench]:
    from tests.ml.sagemaker.conftest import PIPELINE, ROLE_ARN, make_config

    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    moto_sagemaker.install()
    with mock_aws():
        sm = aws_session().client("sagemaker", region_name="us-east-1")
        s3 = aws_session().client("s3", region_name="us-east-1")
        moto_sagemaker.create_pipeline(sm, PIPELINE, ROLE_ARN)
        # One attempt per call: every injected fault reaches the platform code (no botocore retry).
        platform = SageMakerPlatform(make_config(max_attempts=1))
        store = SQLiteStore(tmp_path / "bot.db")
        release = ReleaseService(platform, store, auto_validate_staging=False)
        faults = AwsFaults([platform.sagemaker, platform._client("application-autoscaling")])
        try:
            yield AwsBench(release, faults, sm, s3)
        finally:
            platform.close()
            store.close()


def aws_snapshot(bench: AwsBench) -> dict[str, Any]:
    release = bench.release
    return {
        "serving": {env: release.serving(env) for env in ENVIRONMENTS},
        "records": {env: len(release.history(env)) for env in ENVIRONMENTS},
    }


def assert_aws_consistent(bench: AwsBench) -> None:
    """The store agrees with AWS, and production serves only a config of a validated version."""
    release = bench.release
    for env in ENVIRONMENTS:
        serving, history = release.serving(env), release.history(env)
        assert (history[-1].version if history else None) == serving, f"{env}: v{serving} vs {history}"
    production = release.serving("production")
    if production is not None:
        report = release.records.latest_validation(production)
        assert report is not None and report.passed, f"production serves never-validated v{production}"
        name = release.platform.endpoint_name("production")
        config = bench.sm.describe_endpoint(EndpointName=name)["EndpointConfigName"]
        models = bench.sm.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"]
        assert all(bench.sm.describe_model(ModelName=v["ModelName"]) for v in models)


def check_attempt(
    bench: AwsBench, before: dict[str, Any], result: Result, env: Environment, version: int
) -> str:
    """One faulted attempt: done once, or refused with a message and nothing changed."""
    after = aws_snapshot(bench)
    assert result.message, "an answer without a message"
    if result.outcome is Outcome.DONE:
        assert after["serving"][env] == version
        assert after["records"][env] == before["records"][env] + 1
    else:
        assert after == before, f"{result.outcome.value} ({result.message}) but AWS or the store changed"
    return result.outcome.value


def operations_of(
    bench: AwsBench, prepare: Callable[[], tuple[Environment, int]], op: Callable[[int], Result]
) -> list[str]:
    """The AWS operations ``op`` calls, in first-call order, from one run without faults."""
    _, version = prepare()
    first = len(bench.faults.calls)
    assert op(version).outcome is Outcome.DONE
    return list(dict.fromkeys(bench.faults.calls[first:]))


def plan(operations: list[str]) -> list[tuple[str, str]]:
    """Two fault kinds per operation, taking turns so that every kind meets every stage."""
    n = len(AWS_KINDS)
    return [(op, AWS_KINDS[(i + j * 2) % n]) for i, op in enumerate(operations) for j in range(2)]


def sweep(
    bench: AwsBench, prepare: Callable[[], tuple[Environment, int]], op: Callable[[int], Result]
) -> Counter[str]:
    """Fail each AWS operation ``op`` calls (the first call of it; fault kinds take turns)."""
    outcomes: Counter[str] = Counter()
    for operation, kind in plan(operations_of(bench, prepare, op)):
        env, version = prepare()
        before = aws_snapshot(bench)
        bench.faults.arm(operation, kind)
        result = op(version)
        reached = not bench.faults.pending
        bench.faults.disarm()
        if not reached:
            assert result.outcome is Outcome.DONE, result.message
            continue
        outcomes[check_attempt(bench, before, result, env, version)] += 1
        if result.outcome is not Outcome.DONE:  # the next attempt, without faults, completes it
            again = op(version)
            assert again.outcome in (Outcome.DONE, Outcome.NOOP), again.message
        assert bench.release.records.inflight() == []
        assert_aws_consistent(bench)
    return outcomes


def test_aws_faults_in_approve_promote_and_rollback_complete_once_or_change_nothing(
    aws_bench: AwsBench,
) -> None:
    bench, release = aws_bench, aws_bench.release

    outcomes = {"approve": Counter[str]()}
    # a fault in the decision leaves the version pending; one in the staging deploy it triggers is
    # reported, and the deploy can be run again
    operations = operations_of(
        bench, lambda: ("staging", bench.new_version()), lambda v: release.approve(BOB, v)
    )
    for operation, kind in plan(operations):
        version = bench.new_version()
        bench.faults.arm(operation, kind)
        first = release.approve(BOB, version)
        bench.faults.disarm()
        status = release.platform.describe_model_package(version).approval_status
        decision = release.records.decision(version)
        if first.outcome is Outcome.DONE:
            assert status is ApprovalStatus.APPROVED and decision is not None
        else:
            assert first.message and status is ApprovalStatus.PENDING and decision is None, first.message
            assert release.approve(BOB, version).outcome is Outcome.DONE
        assert_aws_consistent(bench)
        if release.serving("staging") != version:  # the staging deploy failed and said so: do it again
            assert release.deploy(CAROL, version, "staging").outcome is Outcome.DONE
        outcomes["approve"][first.outcome.value] += 1

    def promote_prepare() -> tuple[Environment, int]:
        version = bench.new_version()
        assert release.approve(BOB, version).ok
        assert release.serving("staging") == version
        bench.validated(version)
        return "production", version

    outcomes["promote"] = sweep(bench, promote_prepare, lambda v: release.promote(CAROL, v))

    def rollback_prepare() -> tuple[Environment, int]:
        # A new production version each time, so each rollback returns to a different config (moto
        # appends tags instead of replacing them, and one config tagged at every turn breaks paging).
        earlier, newer = promote_prepare()[1], promote_prepare()[1]
        assert release.promote(CAROL, earlier).outcome is Outcome.DONE
        assert release.promote(CAROL, newer).outcome is Outcome.DONE
        return "production", earlier

    outcomes["rollback"] = sweep(bench, rollback_prepare, lambda v: release.rollback(CAROL, "production", v))
    log.info(
        "AWS faults %s -> outcomes %s", dict(bench.faults.injected), {k: dict(v) for k, v in outcomes.items()}
    )
    assert all(bench.faults.injected[k] for k in AWS_KINDS)
    assert all(sum(c.values()) >= 4 for c in outcomes.values())


# -- (d) the HTTP runtime is killed in the middle of a deploy ------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def channel_posts(slack: LocalSlack) -> list[Any]:
    """What the channel sees (not ephemeral answers to one person)."""
    return [m for m in slack.messages("mlops") if m.via == "api" and m.ephemeral_to is None]


class ServeProcess:
    """``mlops-bot serve`` as its own process, on a given MLOPS_HOME, talking to LocalSlack."""

    def __init__(self, home: Path, slack: LocalSlack, secrets_: Secrets) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MLOPS_", "GITHUB_", "CI_"))
        }
        env.update(
            {
                "MLOPS_HOME": str(home),
                "SLACK_BOT_TOKEN": secrets_.bot_token,
                "SLACK_SIGNING_SECRET": secrets_.signing_secret,
                "SLACK_API_URL": slack.api_url,
                "MLOPS_CHANNEL": slack.channel_id("mlops"),
            }
        )
        # one client: each new one builds an SSL context, CPU the starting server needs more
        self.http = httpx.Client(base_url=self.url, timeout=1)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "runtimes.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            cwd=home,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        wait_for_process(self._healthy, "mlops-bot serve to become healthy", 120)

    def _healthy(self) -> bool:
        assert self.proc.poll() is None, self.stderr()
        try:
            return self.http.get("/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    def stderr(self) -> str:
        return self.proc.stderr.read().decode(errors="replace")[-3000:] if self.proc.stderr else ""

    def post(self, body: str, headers: dict[str, str]) -> httpx.Response:
        return self.http.post("/slack/events", content=body, headers=headers, timeout=10)

    def kill(self) -> None:
        self.http.close()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        self.http.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


#: When the server is killed: as soon as the promote holds its marker, or once the channel was told.
#: Each is seen as it happens, whatever the machine's speed.
KILL_MOMENTS = ("marker", "announced")


@pytest.mark.parametrize("moment", KILL_MOMENTS)
def test_serve_killed_mid_promote_is_settled_and_announced_on_restart(home: Path, moment: str) -> None:
    from ml.local.endpoints import stop_host_process

    secrets_ = Secrets()
    users = [LocalUser(user_id(n), n, groups) for n, groups in USERS.items()]
    slack = AnswerLog(users, token=secrets_.bot_token, channels=("mlops",)).start()
    # Request bodies are built by a bench that shares the server's secrets and LocalSlack; it never serves
    # (its platform home is empty).
    builder = make_bench(home / "builder", slack=slack, secrets_=secrets_)
    store = SQLiteStore(home / "bot.db")
    records = Records(store)  # reads the server's store
    first = ServeProcess(home, slack, secrets_)
    second: ServeProcess | None = None
    try:
        body = builder.command_body("approve v1", "bob")
        assert first.post(body, builder.headers(body)).status_code == 200
        wait_for_process(lambda: records.latest_validation(1), "v1 validated in staging", 120)
        body = builder.action_body("promote_confirm", '{"v":1,"from":0}', "carol")  # Confirm
        assert first.post(body, builder.headers(body)).status_code == 200
        kill_when: dict[str, Callable[[], Any]] = {
            "marker": lambda: store.get("inflight", "production") or records.deployments("production"),
            "announced": lambda: any("Promoted v1" in m.text for m in channel_posts(slack)),
        }
        if moment == "announced":
            slack.wait_for(kill_when[moment], 120, "the promote to be announced")
        else:
            wait_for_process(kill_when[moment], f"the promote to reach {moment}", 120)
        first.kill()
        interrupted = store.get("inflight", "production") is not None

        second = ServeProcess(home, slack, secrets_)
        # Killed with the marker held: the restart settles it and says so. Killed after it finished:
        # the announcement waiting in the durable outbox goes out from the restarted process.
        expected = ("while the bot was stopped", "was interrupted") if interrupted else ("Promoted v1",)
        note = slack.wait_for(
            lambda: [m for m in channel_posts(slack) if any(s in m.text for s in expected)],
            60,
            f"the restarted server to post one of {expected}",
        )
        assert len(note) == 1
        log.info("killed at %s of the promote: %s", moment, note[0].text)
        assert store.get("inflight", "production") is None
        if "was interrupted" in note[0].text:
            assert "/mlops promote v1" in note[0].text  # the next safe action
            body = builder.action_body("promote_confirm", '{"v":1,"from":0}', "carol")
            assert second.post(body, builder.headers(body)).status_code == 200
            slack.wait_for(
                lambda: any("Promoted v1 to production" in m.text for m in channel_posts(slack)),
                60,
                "the repeated promote to be announced",
            )
        history = records.deployments("production")
        assert [(r.kind, r.version) for r in history] == [("promote", 1)]
        promotes = [e for e in records.audit(100) if e.action is Action.PROMOTE and e.outcome is Outcome.DONE]
        assert len(promotes) == 1
    finally:
        for server in (first, second):
            if server is not None:
                server.stop()
        stop_host_process(home)
        store.close()
        builder.close()
        slack.close()
