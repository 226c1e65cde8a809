"""The whole release on the local platform, through the release core."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.core.models import Action, Actor, Outcome, Result
from bot.core.service import ReleaseService
from bot.store.sqlite import SQLiteStore
from ml.local.source import code_root, detect
from ml.platform import ApprovalStatus
from ml.sagemaker.clients import aws_session
from tests.conftest import ALICE, BOB, CAROL, DAVE, ERIN, SAMPLE, wait_for_run


def invoke_production(release: ReleaseService, row: str) -> float:
    platform = release.platform
    client = aws_session().client(
        "sagemaker-runtime",
        endpoint_url=platform.endpoint_url,  # type: ignore[attr-defined]
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    name = platform.describe_endpoint("production").name
    resp = client.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=row.encode())
    return float(resp["Body"].read().decode().strip().splitlines()[0])


RAW_ROW = (
    "52,Self-emp-inc,287927,HS-grad,9,Married-civ-spouse,Exec-managerial,Wife,White,Female,15024,0,40,"
    "United-States"
)


class Harness:
    """What differs between platforms in the release flow: how a version comes to exist, and who validates."""

    def __init__(self, release: ReleaseService, backend: str) -> None:
        self.release = release
        self.backend = backend

    def new_version(self, actor: Actor, params: dict[str, str], git_sha: str) -> int:
        # locally, a real run on the sample the home's data folder holds
        given = {"InputData": SAMPLE, **params} if self.backend == "local" else params
        started = self.release.train(actor, given, git_sha=git_sha)
        assert started.outcome is Outcome.DONE, started.message
        run = wait_for_run(self.release.platform, str(started.data["execution_id"]))
        assert run.status.value == "Succeeded", run.failure_reason
        if self.backend == "local":
            assert run.model_version is not None
            return run.model_version
        # moto runs nothing: register what the pipeline's RegisterModel step would have.
        from tests.ml.sagemaker import moto_sagemaker

        pkg = moto_sagemaker.register_model_package(
            aws_session().client("sagemaker", region_name="us-east-1"),
            aws_session().client("s3", region_name="us-east-1"),
            self.release.platform.model_package_group,
            accuracy=0.87 if params.get("max_depth") != "3" else 0.86,
            lineage={
                "requested_by": actor.id,
                "git_sha": git_sha,
                "execution_id": run.execution_id,
                "parameters": json.dumps(params),
            },
        )
        return pkg.version

    def validate_staging(self, version: int) -> None:
        if self.backend == "local":
            view = self.release.view(version)  # approval deployed staging and validated it
            assert view.validation is not None and view.validation.passed, view.validation
            return
        # On SageMaker the model-deploy workflow validates staging and reports as CI.
        ci = Actor("ci:acme/models", "CI acme/models", system=True)
        report = {"passed": True, "accuracy": 0.87, "p95_ms": 41.0, "checks": []}
        assert self.release.record_validation(ci, version, "staging", True, report, "ci:acme/models").ok

    def invoke_production(self, row: str) -> float | None:
        return invoke_production(self.release, row) if self.backend == "local" else None


@pytest.fixture(params=["local", "sagemaker"])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    if request.param == "local":
        release = request.getfixturevalue("local_release")
        yield Harness(release, "local")
        return
    from moto import mock_aws

    from ml.sagemaker import SageMakerPlatform
    from tests.ml.sagemaker import moto_sagemaker
    from tests.ml.sagemaker.conftest import PIPELINE, ROLE_ARN, make_config

    mp = request.getfixturevalue("monkeypatch")
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        mp.delenv(name, raising=False)
    mp.setenv("AWS_ACCESS_KEY_ID", "testing")
    mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
    moto_sagemaker.install()
    with mock_aws():
        moto_sagemaker.create_pipeline(
            aws_session().client("sagemaker", region_name="us-east-1"), PIPELINE, ROLE_ARN
        )
        platform = SageMakerPlatform(make_config())
        tmp = request.getfixturevalue("tmp_path")
        store = SQLiteStore(tmp / "bot.db")
        release = ReleaseService(platform, store, auto_validate_staging=False)
        try:
            yield Harness(release, "sagemaker")
        finally:
            platform.close()
            store.close()


def test_full_release(harness: Harness) -> None:
    release = harness.release
    announced: list[Result] = []
    release.subscribe(announced.append)

    first = harness.new_version(ALICE, {}, "0123abc")
    v1 = release.platform.describe_model_package(first)
    assert v1.approval_status is ApprovalStatus.PENDING
    assert v1.metrics["accuracy"] >= 0.8
    assert v1.lineage["requested_by"] == ALICE.id

    self_approval = release.approve(Actor(ALICE.id, "alice", BOB.roles), first)
    assert self_approval.outcome is Outcome.REFUSED and "Four-eyes" in self_approval.message

    approved = release.approve(BOB, first, "metrics look right")
    assert approved.outcome is Outcome.DONE, approved.message
    assert release.platform.describe_model_package(first).approval_status is ApprovalStatus.APPROVED
    assert release.serving("staging") == first  # approval deployed staging
    if harness.backend == "sagemaker":  # no validation until CI reports
        refused = release.promote(CAROL, first)
        assert refused.outcome is Outcome.REFUSED and "staging validation" in refused.message
    harness.validate_staging(first)

    promoted = release.promote(CAROL, first)
    assert promoted.outcome is Outcome.DONE, promoted.message
    assert release.serving("production") == first
    p1 = harness.invoke_production(RAW_ROW)
    assert p1 is None or 0.0 <= p1 <= 1.0

    second = harness.new_version(ALICE, {"max_depth": "3", "eta": "0.3", "num_round": "60"}, "feedbee")
    assert second == first + 1
    # SageMaker records the commit CI names; a local run the checkout it runs from, whatever is claimed
    recorded = "feedbee" if harness.backend == "sagemaker" else detect(code_root()).sha
    assert release.platform.describe_model_package(second).lineage["git_sha"] == recorded

    assert release.approve(DAVE, second).outcome is Outcome.DONE
    harness.validate_staging(second)
    assert release.promote(CAROL, second).outcome is Outcome.DONE
    assert release.serving("production") == second
    p2 = harness.invoke_production(RAW_ROW)
    assert p1 is None or p2 != p1  # another model answers

    rolled = release.rollback(CAROL, "production")
    assert rolled.outcome is Outcome.DONE, rolled.message
    assert rolled.data["from_version"] == second and rolled.data["to_version"] == first
    assert release.serving("production") == first
    if p1 is not None:
        assert harness.invoke_production(RAW_ROW) == pytest.approx(p1)
    # back means older: the newer version goes in again by promote, never by "rollback"
    assert "no version older than" in str(release.rollback_plan("production"))
    forward = release.rollback(CAROL, "production", second)
    assert forward.outcome is Outcome.REFUSED and f"`promote v{second}` moves forward" in forward.message
    assert release.serving("production") == first

    history = release.history("production")
    assert [(r.kind, r.version) for r in history] == [
        ("promote", first),
        ("promote", second),
        ("rollback", first),
    ]
    audit = list(reversed(release.audit(100)))
    done = [(e.action, e.actor_name, e.target) for e in audit if e.outcome is Outcome.DONE]
    assert (Action.APPROVE, "bob", f"v{first}") in done
    assert (Action.APPROVE, "dave", f"v{second}") in done
    assert (Action.PROMOTE, "carol", f"v{first}->production") in done
    assert (Action.ROLLBACK, "carol", f"v{first}->production") in done
    assert sum(1 for e in audit if e.action is Action.TRAIN and e.outcome is Outcome.DONE) == 2
    refusals = [e for e in audit if e.outcome is Outcome.REFUSED]
    assert refusals and refusals[0].actor_name == "alice"
    assert refusals[-1].action is Action.ROLLBACK and refusals[-1].actor_name == "carol"
    # every persisted change was announced, in the order it was persisted
    assert [(r.action, r.actor.label) for r in announced if r.outcome is Outcome.DONE] == [
        (a, n) for a, n, _ in done
    ]


def test_accuracy_gate_fails_run_and_registers_nothing(local_release: ReleaseService) -> None:
    before = len(local_release.platform.list_model_packages())
    started = local_release.train(ALICE, {"InputData": SAMPLE, "AccuracyThreshold": "0.99"})
    assert started.outcome is Outcome.DONE
    run = wait_for_run(local_release.platform, str(started.data["execution_id"]))
    assert run.status.value == "Failed"
    assert run.failure_reason is not None and "CheckAccuracy" in run.failure_reason
    assert "0.99" in run.failure_reason
    failed_steps = [s.name for s in run.steps if s.status.value == "Failed"]
    assert failed_steps == ["CheckAccuracy"]
    assert run.model_version is None
    assert len(local_release.platform.list_model_packages()) == before


def snapshot(release: ReleaseService) -> tuple[object, ...]:
    packages = tuple((p.version, p.approval_status) for p in release.platform.list_model_packages())
    serving = (release.serving("staging"), release.serving("production"))
    return packages, serving, tuple(release.history("staging")), tuple(release.history("production"))


def test_policy_refusals_change_nothing(local_release: ReleaseService) -> None:
    release = local_release
    before = snapshot(release)

    self_approval = release.approve(ALICE.__class__(ALICE.id, "alice", BOB.roles), 1)
    assert self_approval.outcome is Outcome.REFUSED
    assert "Four-eyes" in self_approval.message

    unapproved = release.deploy(CAROL, 1, "staging")
    assert unapproved.outcome is Outcome.REFUSED
    assert "PendingManualApproval" in unapproved.message

    no_validation = release.promote(CAROL, 1)
    assert no_validation.outcome is Outcome.REFUSED

    never_deployed = release.rollback(CAROL, "production", 1)
    assert never_deployed.outcome is Outcome.REFUSED
    assert "serves no model" in never_deployed.message

    no_role = release.approve(ERIN, 1)
    assert no_role.outcome is Outcome.REFUSED and no_role.required_role is not None

    assert snapshot(release) == before
    refusals = [e for e in release.audit(50) if e.outcome is Outcome.REFUSED]
    assert len(refusals) == 5


def test_promote_requires_validation_of_that_exact_version(local_release: ReleaseService) -> None:
    release = local_release
    release.auto_validate_staging = False
    assert release.approve(BOB, 1).outcome is Outcome.DONE
    assert release.serving("staging") == 1
    refused = release.promote(CAROL, 1)
    assert refused.outcome is Outcome.REFUSED and "no staging validation" in refused.message
    failed = release.record_validation(
        CAROL, 1, "staging", False, {"checks": [{"name": "accuracy", "passed": False}]}, "test"
    )
    assert failed.outcome is Outcome.DONE
    assert release.promote(CAROL, 1).outcome is Outcome.REFUSED
    assert release.validate(CAROL, 1).outcome is Outcome.DONE
    assert release.promote(CAROL, 1).outcome is Outcome.DONE
    never = release.rollback(CAROL, "production", 7)
    assert never.outcome is Outcome.REFUSED


def test_repeat_is_harmless(local_release: ReleaseService) -> None:
    release = local_release
    assert release.approve(BOB, 1).outcome is Outcome.DONE
    again = release.approve(DAVE, 1)
    assert again.outcome is Outcome.NOOP
    assert "already approved by bob" in again.message
    history = release.history("staging")
    assert len(history) == 1
    assert release.deploy(CAROL, 1, "staging").outcome is Outcome.NOOP
    assert len(release.history("staging")) == 1
    assert release.promote(CAROL, 1).outcome is Outcome.DONE
    assert release.promote(CAROL, 1).outcome is Outcome.NOOP
    assert len(release.history("production")) == 1


def test_concurrent_decisions_yield_one(home: Path) -> None:
    from ml.local import LocalPlatform

    platform = LocalPlatform(home, host_endpoints_in_process=True)
    # Several service instances on one store, as several bot processes would be.
    services = [
        ReleaseService(platform, SQLiteStore(home / "bot.db"), auto_deploy_staging=False) for _ in range(4)
    ]
    results: list[Result] = []
    lock = threading.Lock()
    barrier = threading.Barrier(20)

    def act(i: int) -> None:
        svc = services[i % 4]
        barrier.wait()
        r = svc.approve(BOB, 1) if i % 2 else svc.reject(DAVE, 1, "too risky")
        with lock:
            results.append(r)

    threads = [threading.Thread(target=act, args=(i,)) for i in range(20)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        done = [r for r in results if r.outcome is Outcome.DONE]
        assert len(results) == 20
        assert len(done) == 1
        winner = done[0]
        others = [r for r in results if r is not winner]
        assert all(r.outcome in (Outcome.NOOP, Outcome.REFUSED) for r in others)
        assert all(winner.actor.name in r.message for r in others)
        expected = ApprovalStatus.APPROVED if winner.action is Action.APPROVE else ApprovalStatus.REJECTED
        assert platform.describe_model_package(1).approval_status is expected
    finally:
        platform.close()


def test_bad_input_is_refused(local_release: ReleaseService) -> None:
    release = local_release
    before = snapshot(release)
    unknown = release.approve(BOB, 42)
    assert unknown.outcome is Outcome.REFUSED and "v42" in unknown.message
    bad_hp = release.train(ALICE, {"max_dept": "3"})
    assert bad_hp.outcome is Outcome.REFUSED and "max_depth" in bad_hp.message
    ill_typed = release.train(ALICE, {"max_depth": "deep"})
    assert ill_typed.outcome is Outcome.REFUSED and "max_depth" in ill_typed.message
    wrong_env = release.deploy(CAROL, 1, "production")
    assert wrong_env.outcome is Outcome.REFUSED and "promote" in wrong_env.message
    assert release.reject(BOB, 1, "  ").outcome is Outcome.REFUSED
    assert snapshot(release) == before
