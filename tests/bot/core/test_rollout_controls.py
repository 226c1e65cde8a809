"""Rollout policies reach the platform per promote; stop, finish and warm-standby retirement through the
release core (audited, refused in words, deny by default)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.core.models import Action, Actor, Outcome, Role
from bot.core.policy import REQUIRED_ROLES, SYSTEM_ACTIONS, allowed
from bot.core.records import NS_INFLIGHT
from bot.core.service import PromotePlan, ReleaseService, RollbackPlan
from bot.store.sqlite import SQLiteStore
from ml.rollout_policy import parse_rollout
from ml.rollout_state import RollbackPath, WarmStandby
from tests.conftest import ALICE, BOB, CAROL, ERIN
from tests.scripted_rollout import CANARY, START, ScriptedPlatform, progress

CI = Actor("ci:acme/models", "CI acme/models", system=True)
REPORT = {"passed": True, "accuracy": 0.87, "p95_ms": 41.0, "checks": []}
DAVE_ONCALL = Actor("UDAVE", "dave", frozenset({Role.ONCALL}))
ALL_AT_ONCE = parse_rollout("all-at-once", bake_seconds=0)
ALARMS = ("prod-5xx", "prod-p99")


@pytest.fixture
def release(release_home: Path) -> Iterator[ReleaseService]:
    platform = ScriptedPlatform(release_home)
    store = SQLiteStore(release_home / "bot.db")
    try:
        yield ReleaseService(
            platform,
            store,
            auto_validate_staging=False,
            rollouts={"staging": ALL_AT_ONCE, "production": CANARY},
            rollback_alarms=ALARMS,
        )
    finally:
        platform.close()
        store.close()


def scripted(release: ReleaseService) -> ScriptedPlatform:
    platform = release.platform
    assert isinstance(platform, ScriptedPlatform)
    return platform


def ready_to_promote(release: ReleaseService) -> None:
    assert release.approve(BOB, 2).outcome is Outcome.DONE  # deploys v2 to staging
    assert release.record_validation(CI, 2, "staging", True, REPORT, "ci:acme").ok


def test_stop_and_finish_are_for_releasers_and_oncall_only() -> None:
    for action in (Action.STOP_ROLLOUT, Action.FINISH_ROLLOUT):
        assert set(REQUIRED_ROLES[action]) == {Role.RELEASER, Role.ONCALL}
        assert allowed(CAROL, action) is None and allowed(DAVE_ONCALL, action) is None
        assert allowed(ALICE, action) is not None and allowed(ERIN, action) is not None
    assert Action.RETIRE_WARM in SYSTEM_ACTIONS and allowed(CAROL, Action.RETIRE_WARM) is not None


def test_staging_takes_its_policy_and_a_promote_takes_production_s_or_the_override(
    release: ReleaseService,
) -> None:
    platform = scripted(release)
    ready_to_promote(release)
    assert platform.deploys == [("staging", 2, ALL_AT_ONCE)]
    override = parse_rollout("canary 5% 10m", bake_seconds=300)
    markers: list[object] = []
    platform.during_deploy = lambda: markers.append(release.records.store.get(NS_INFLIGHT, "production"))
    plan = release.promote_plan(2, CAROL, rollout=override)
    assert isinstance(plan, PromotePlan)
    assert (plan.rollout, plan.rollout_override, plan.alarms) == (override, True, ALARMS)
    done = release.promote(CAROL, 2, rollout=override)
    assert done.outcome is Outcome.DONE, done.message
    assert platform.deploys[-1] == ("production", 2, override)
    assert done.data["rollout"] == "canary 5% 10m bake 5m"
    marker = markers[0]
    assert isinstance(marker, dict)
    assert marker["rollout"] == "canary 5% 10m bake 5m" and marker["rollout_override"] is True
    entry = release.audit(1)[0]
    assert entry.action is Action.PROMOTE and entry.outcome is Outcome.DONE
    assert entry.detail.endswith("(rollout override: canary 5% 10m bake 5m)")


def test_a_promote_without_override_runs_the_configured_policy(release: ReleaseService) -> None:
    ready_to_promote(release)
    plan = release.promote_plan(2, CAROL)
    assert isinstance(plan, PromotePlan) and (plan.rollout, plan.rollout_override) == (CANARY, False)
    assert release.promote(CAROL, 2).ok
    assert scripted(release).deploys[-1] == ("production", 2, CANARY)
    assert release.audit(1)[0].detail.endswith("(rollout: canary 10% 5m bake 5m)")


def test_stop_calls_the_platform_and_is_audited(release: ReleaseService) -> None:
    platform = scripted(release)
    platform.current = progress("shifting", 10)
    result = release.stop_rollout(DAVE_ONCALL, "production")
    assert result.outcome is Outcome.DONE and "all traffic is back on v1" in result.message
    assert platform.cut_short == [("stop", "dave")]
    entry = release.audit(1)[0]
    assert (entry.action, entry.outcome, entry.target, entry.version) == (
        Action.STOP_ROLLOUT,
        Outcome.DONE,
        "rollout:production",
        2,
    )


def test_finish_calls_the_platform_unless_it_cannot_cut_the_rollout_short(release: ReleaseService) -> None:
    platform = scripted(release)
    platform.current = progress("baking", 100, can_finish=False)
    refused = release.finish_rollout(CAROL, "production")
    assert refused.outcome is Outcome.REFUSED and "cannot be finished early" in refused.message
    assert platform.cut_short == []
    platform.current = progress("baking", 100)
    assert release.finish_rollout(CAROL, "production").outcome is Outcome.DONE
    assert platform.cut_short == [("finish", "carol")]


def test_without_a_running_rollout_nothing_changes_and_the_refusal_says_why(
    release: ReleaseService,
) -> None:
    platform = scripted(release)
    refused = release.stop_rollout(CAROL, "production")
    assert refused.outcome is Outcome.REFUSED
    assert refused.message == "No rollout is running on production: there has been none. Nothing changed."
    platform.current = progress("promoted", 100, verdict="promoted after the bake")
    ended = release.finish_rollout(CAROL, "production")
    assert (
        ended.outcome is Outcome.NOOP
        and "the last one, of v2, ended (promoted after the bake)" in ended.message
    )
    assert platform.cut_short == []
    assert [e.outcome for e in release.audit(2)] == [Outcome.NOOP, Outcome.REFUSED]


def test_someone_without_the_role_is_denied_and_audited(release: ReleaseService) -> None:
    platform = scripted(release)
    platform.current = progress("shifting", 10)
    denied = release.stop_rollout(ALICE, "production")
    assert denied.outcome is Outcome.REFUSED and "*releaser* or *oncall*" in denied.message
    assert platform.cut_short == [] and release.audit(1)[0].actor_id == "UALICE"


def test_the_rollback_plan_says_which_path_it_takes(release: ReleaseService) -> None:
    ready_to_promote(release)
    assert release.promote(CAROL, 2).ok
    scripted(release).path = RollbackPath(1, warm=True, detail="v1 is warm until 09:30")
    plan = release.rollback_plan("production")
    assert isinstance(plan, RollbackPlan) and plan.path == RollbackPath(1, True, "v1 is warm until 09:30")


def test_scheduled_work_retires_a_warm_standby_once_and_audits_it(release: ReleaseService) -> None:
    platform = scripted(release)
    platform.warm = WarmStandby("production", 1, START + timedelta(minutes=30), "1 × ml.m5.large")
    assert release.run_scheduled_work(lambda _: None).retired == []  # retention not over yet
    platform.warm_due = True
    assert release.run_scheduled_work(lambda _: None).retired == ["production"]
    assert release.run_scheduled_work(lambda _: None).retired == []
    retired = [e for e in release.audit(10) if e.action is Action.RETIRE_WARM]
    assert len(retired) == 1 and retired[0].outcome is Outcome.DONE
    assert "Retired the warm standby v1 of production" in retired[0].detail and retired[0].version == 1
