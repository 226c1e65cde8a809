"""The whole release on the local platform, through the release core."""

from __future__ import annotations

import threading
from pathlib import Path

import boto3
import pytest

from bot.core.models import Action, Outcome, Result
from bot.core.service import ReleaseService
from bot.store.sqlite import SQLiteStore
from ml.platform import ApprovalStatus
from tests.conftest import ALICE, BOB, CAROL, DAVE, ERIN, wait_for_run


def invoke_production(release: ReleaseService, row: str) -> float:
    platform = release.platform
    client = boto3.client(
        "sagemaker-runtime",
        endpoint_url=platform.endpoint_url,  # type: ignore[attr-defined]
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    name = platform.describe_endpoint("production").name
    resp = client.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=row.encode())
    return float(resp["Body"].read().decode().strip().splitlines()[0])


RAW_ROW = "52,Self-emp-inc,287927,HS-grad,9,Married-civ-spouse,Exec-managerial,Wife,White,Female,15024,0,40,United-States"


def test_full_release_on_local_platform(local_release: ReleaseService) -> None:
    release = local_release
    announced: list[Result] = []
    release.subscribe(announced.append)

    v1 = release.platform.describe_model_package(1)
    assert v1.approval_status is ApprovalStatus.PENDING
    assert v1.metrics["accuracy"] >= 0.8
    assert v1.lineage["requested_by"] == ALICE.id

    approved = release.approve(BOB, 1, "metrics look right")
    assert approved.outcome is Outcome.DONE, approved.message
    assert release.platform.describe_model_package(1).approval_status is ApprovalStatus.APPROVED
    # approval deployed staging and validated it
    assert release.serving("staging") == 1
    assert release.view(1).validation is not None and release.view(1).validation.passed  # type: ignore[union-attr]
    assert [r.action for r in announced] == [Action.APPROVE, Action.DEPLOY, Action.VALIDATE]

    promoted = release.promote(CAROL, 1)
    assert promoted.outcome is Outcome.DONE, promoted.message
    assert release.serving("production") == 1
    p1 = invoke_production(release, RAW_ROW)
    assert 0.0 <= p1 <= 1.0

    started = release.train(ALICE, {"max_depth": "3", "eta": "0.3", "num_round": "60"}, git_sha="feedbee")
    assert started.outcome is Outcome.DONE, started.message
    run = wait_for_run(release.platform, str(started.data["execution_id"]))
    assert run.status.value == "Succeeded", run.failure_reason
    assert run.model_version == 2
    v2 = release.platform.describe_model_package(2)
    assert v2.lineage["git_sha"] == "feedbee"

    assert release.approve(DAVE, 2).outcome is Outcome.DONE
    assert release.promote(CAROL, 2).outcome is Outcome.DONE
    assert release.serving("production") == 2
    p2 = invoke_production(release, RAW_ROW)
    assert p2 != p1  # another model answers

    rolled = release.rollback(CAROL, "production")
    assert rolled.outcome is Outcome.DONE, rolled.message
    assert rolled.data["from_version"] == 2 and rolled.data["to_version"] == 1
    assert release.serving("production") == 1
    assert invoke_production(release, RAW_ROW) == pytest.approx(p1)

    history = release.history("production")
    assert [(r.kind, r.version) for r in history] == [("promote", 1), ("promote", 2), ("rollback", 1)]

    audit = list(reversed(release.audit(100)))
    done = [(e.action, e.actor_name, e.target) for e in audit if e.outcome is Outcome.DONE]
    assert (Action.APPROVE, "bob", "v1") in done
    assert (Action.PROMOTE, "carol", "v1->production") in done
    assert (Action.TRAIN, "alice", f"execution:{started.data['execution_id']}") in done
    assert (Action.ROLLBACK, "carol", "v1->production") in done
    assert all(e.at is not None for e in audit)


def test_accuracy_gate_fails_run_and_registers_nothing(local_release: ReleaseService) -> None:
    before = len(local_release.platform.list_model_packages())
    started = local_release.train(ALICE, {"AccuracyThreshold": "0.99"})
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
    failed = release.record_validation(CAROL, 1, "staging", False, {"checks": [{"name": "accuracy",
                                                                                "passed": False}]}, "test")
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
    services = [ReleaseService(platform, SQLiteStore(home / "bot.db"), auto_deploy_staging=False)
                for _ in range(4)]
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
