"""Registry stages kept in step with the release on both platforms (SageMaker: moto, through botocore)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.core.lifecycle import transitions
from bot.core.models import Action, Actor, Outcome, Result
from bot.core.service import ReleaseService
from bot.core.votes import ApprovalRule
from bot.store.sqlite import SQLiteStore
from ml.lifecycle import LifeCycle, Transition
from ml.platform import ApprovalStatus, PlatformError
from tests.bot.core.test_release_flow import Harness, harness
from tests.conftest import ALICE, BOB, CAROL, DAVE

__all__ = ["harness"]  # the two-platform fixture, shared with the release flow


def stage(release: ReleaseService, version: int) -> tuple[str, str] | None:
    life = release.platform.describe_model_package(version).life_cycle
    return None if life is None else (life.stage, life.status)


def test_every_release_step_sets_the_registry_stage(harness: Harness) -> None:
    release = harness.release
    first = harness.new_version(ALICE, {}, "0123abc")
    if harness.backend == "sagemaker":
        assert stage(release, first) is None  # the pipeline registers without a stage
        # the package event of a new version: the bot gives it its first stage, unannounced
        assert release.observe_life_cycle(release.platform.describe_model_package(first)) is None
    assert stage(release, first) == ("Development", "PendingApproval")

    assert release.approve(BOB, first, "metrics look right").outcome is Outcome.DONE
    assert stage(release, first) == ("Staging", "InProgress")  # approved, then deployed to staging
    harness.validate_staging(first)
    assert release.promote(CAROL, first).outcome is Outcome.DONE
    promoted = release.platform.describe_model_package(first)
    assert promoted.life_cycle == LifeCycle(
        "Production", "Approved", "Promoted to production by carol via mlops-bot"
    )
    assert promoted.approval_status is ApprovalStatus.APPROVED  # a stage update leaves the approval alone

    second = harness.new_version(ALICE, {"max_depth": "3", "eta": "0.3", "num_round": "60"}, "feedbee")
    assert release.approve(DAVE, second).outcome is Outcome.DONE
    harness.validate_staging(second)
    assert release.promote(CAROL, second).outcome is Outcome.DONE
    assert stage(release, second) == ("Production", "Approved")
    replaced = release.platform.describe_model_package(first).life_cycle
    assert replaced is not None and (replaced.stage, replaced.status) == ("Archived", "Retired")
    assert f"Replaced in production by v{second}" in replaced.description

    assert release.rollback(CAROL, "production").outcome is Outcome.DONE
    assert stage(release, first) == ("Production", "Approved")
    assert stage(release, second) == ("Archived", "Retired")

    third = harness.new_version(ALICE, {"num_round": "40"}, "cafe123")
    rejected = release.reject(DAVE, third, "recall dropped on the holdout\nsee INC-7")
    assert rejected.outcome is Outcome.DONE
    life = release.platform.describe_model_package(third).life_cycle
    assert life is not None and (life.stage, life.status) == ("Archived", "Rejected")
    assert life.description == "Rejected by dave via mlops-bot: recall dropped on the holdout see INC-7"
    assert release.life_cycle_pending(third) is None

    if harness.backend == "sagemaker":
        from tests.ml.sagemaker import moto_sagemaker

        sent = [
            (
                int(r["ModelPackageArn"].rsplit("/", 1)[-1]),
                r["ModelLifeCycle"]["Stage"],
                r["ModelLifeCycle"]["StageStatus"],
            )
            for r in moto_sagemaker.update_model_package_requests()
            if "ModelLifeCycle" in r
        ]
        assert sent == [
            (first, "Development", "PendingApproval"),
            (first, "Development", "Approved"),
            (first, "Staging", "InProgress"),
            (first, "Production", "Approved"),
            (second, "Development", "Approved"),
            (second, "Staging", "InProgress"),
            (second, "Production", "Approved"),
            (first, "Archived", "Retired"),
            (first, "Production", "Approved"),
            (second, "Archived", "Retired"),
            (third, "Archived", "Rejected"),
        ]
        # no stage request carried an approval: SageMaker would otherwise record a new decision
        assert all(
            "ModelApprovalStatus" not in r
            for r in moto_sagemaker.update_model_package_requests()
            if "ModelLifeCycle" in r
        )


def test_a_failed_stage_write_is_owed_and_retried_on_the_next_action(
    local_release: ReleaseService, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = local_release
    platform = release.platform
    real = platform.update_life_cycle
    calls: list[tuple[int, LifeCycle]] = []

    def refuse(version: int, life: LifeCycle) -> Any:
        calls.append((version, life))
        raise PlatformError("registry unavailable")

    monkeypatch.setattr(platform, "update_life_cycle", refuse)
    release.auto_deploy_staging = False
    assert release.approve(BOB, 1).outcome is Outcome.DONE  # the approval itself stands
    assert calls == [(1, LifeCycle("Development", "Approved", "Approved by bob via mlops-bot"))]
    owed = release.life_cycle_pending(1)
    assert owed is not None and owed.error == "registry unavailable"
    assert stage(release, 1) == ("Development", "PendingApproval")

    monkeypatch.setattr(platform, "update_life_cycle", real)
    assert release.deploy(CAROL, 1, "staging").outcome is Outcome.DONE
    assert stage(release, 1) == ("Staging", "InProgress")  # the newer stage wins over the owed one
    assert release.life_cycle_pending(1) is None


def test_an_owed_stage_of_another_version_is_written_on_the_next_action(
    local_release: ReleaseService, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = local_release
    real = release.platform.update_life_cycle
    monkeypatch.setattr(release.platform, "update_life_cycle", _refusing)
    release.auto_deploy_staging = False
    assert release.reject(BOB, 1, "not this one").outcome is Outcome.DONE
    assert release.life_cycle_pending(1) is not None
    monkeypatch.setattr(release.platform, "update_life_cycle", real)
    release.observe_life_cycle(release.platform.describe_model_package(1))  # a package event retries
    assert stage(release, 1) == ("Archived", "Rejected")
    assert release.life_cycle_pending(1) is None


def _refusing(version: int, life: LifeCycle) -> Any:
    raise PlatformError("throttled")


def test_outside_changes_are_reported_once_and_the_bots_own_never(local_release: ReleaseService) -> None:
    release = local_release
    release.auto_deploy_staging = False
    platform = release.platform
    assert release.approve(BOB, 1).outcome is Outcome.DONE
    own = platform.describe_model_package(1)
    assert release.observe_life_cycle(own) is None  # the bot's own write, seen in an event
    assert release.observe_life_cycle(own) is None

    outside = LifeCycle("QA", "OnHold", "held by risk review")
    changed = platform.update_life_cycle(1, outside)
    assert release.observe_life_cycle(changed) == outside
    assert release.observe_life_cycle(platform.describe_model_package(1)) is None  # a repeat: once

    assert release.deploy(CAROL, 1, "staging").outcome is Outcome.DONE
    assert release.observe_life_cycle(platform.describe_model_package(1)) is None
    again = platform.update_life_cycle(1, outside)  # the same outside stage, after the bot's
    assert release.observe_life_cycle(again) == outside


def test_results_map_to_transitions() -> None:
    actor = Actor("U1", "bob")
    promote = Result(Action.PROMOTE, Outcome.DONE, "", actor, 3, "production", {"from_version": 2})
    assert [(v, t) for v, t, _ in transitions(promote)] == [
        (3, Transition.PRODUCTION),
        (2, Transition.REPLACED),
    ]
    refused = Result(Action.PROMOTE, Outcome.REFUSED, "", actor, 3, "production")
    external = Result(Action.APPROVE, Outcome.DONE, "", actor, 3, data={"external": True})
    validated = Result(Action.VALIDATE, Outcome.DONE, "", actor, 3, "staging")
    assert transitions(refused) == transitions(external) == transitions(validated) == []


def test_a_vote_short_of_the_approval_rule_leaves_the_stage_alone(
    local_release: ReleaseService, tmp_path: Path
) -> None:
    store = SQLiteStore(tmp_path / "quorum.db")
    release = ReleaseService(local_release.platform, store, approval_rule=ApprovalRule(required=2))
    try:
        first = release.approve(BOB, 1)
        assert first.outcome is Outcome.DONE and first.data["status"] == ApprovalStatus.PENDING.value
        assert stage(release, 1) == ("Development", "PendingApproval")
        assert release.approve(DAVE, 1).outcome is Outcome.DONE
        assert stage(release, 1) == ("Staging", "InProgress")  # approved, then deployed to staging
    finally:
        store.close()
