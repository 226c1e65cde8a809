"""Change freezes through the release core: refusal, expiry, unfreeze, windows, break-glass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.freeze_windows import parse_windows
from bot.core.freezes import NS_FREEZE, parse_duration
from bot.core.models import Action, Actor, AuditEntry, AuditFilter, Outcome, Role
from bot.core.service import ReleaseService
from tests.bot.conftest import FakeClock
from tests.bot.core.test_release_flow import (
    Harness,
    harness,  # noqa: F401 - the fixture on both platforms
)
from tests.conftest import ALICE, BOB, CAROL, ERIN

ROSE = Actor("UROSE", "rose", frozenset({Role.RELEASER}))


def validated(release: ReleaseService, clock: FakeClock) -> ReleaseService:
    """v1 approved, in staging and validated there: ready to promote."""
    release.clock = clock
    assert release.approve(BOB, 1).outcome is Outcome.DONE
    assert release.view(1).validation is not None
    return release


def test_a_typed_freeze_refuses_promote_until_it_expires(
    local_release: ReleaseService, clock: FakeClock
) -> None:
    release = validated(local_release, clock)
    frozen = release.freeze(CAROL, "production", timedelta(hours=4), "quarter close")
    assert frozen.outcome is Outcome.DONE and frozen.action is Action.FREEZE
    assert release.records.store.get(NS_FREEZE, "production") is not None  # persisted
    until = (clock.now() + timedelta(hours=4)).strftime("%Y-%m-%d %H:%M UTC")
    refused = release.promote(ROSE, 1)
    assert refused.outcome is Outcome.REFUSED
    assert refused.message.startswith(
        f'Cannot promote v1: production is frozen until {until} by carol: "quarter close".'
    )
    assert "Rollback still works" in refused.message
    assert release.promote_plan(1) == refused.message  # the confirmation step says the same words
    assert release.serving("production") is None
    clock.advance(4 * 3600)
    assert release.frozen("production") is None
    assert release.promote(ROSE, 1).outcome is Outcome.DONE


def test_unfreeze_lifts_a_typed_freeze_and_says_when_there_is_none(
    local_release: ReleaseService, clock: FakeClock
) -> None:
    release = validated(local_release, clock)
    assert release.unfreeze(CAROL, "production").outcome is Outcome.NOOP
    release.freeze(CAROL, "production", timedelta(minutes=30), "quarter close")
    lifted = release.unfreeze(ROSE, "production")
    assert lifted.outcome is Outcome.DONE and "allowed again" in lifted.message
    assert release.records.store.get(NS_FREEZE, "production") is None
    assert release.promote(ROSE, 1).outcome is Outcome.DONE


def test_freeze_needs_the_role_a_reason_and_a_sane_duration(local_release: ReleaseService) -> None:
    release = local_release
    denied = release.freeze(ERIN, "production", timedelta(hours=1), "x")
    assert denied.outcome is Outcome.REFUSED and "*releaser* or *oncall*" in denied.message
    assert "needs a reason" in release.freeze(CAROL, "production", timedelta(hours=1), "  ").message
    assert "up to 30 days" in release.freeze(CAROL, "production", timedelta(days=31), "x").message
    assert release.frozen("production") is None
    assert parse_duration("4h") == timedelta(hours=4)
    for bad in ("4", "0h", "forever", "31d"):
        try:
            parse_duration(bad)
        except ValueError as exc:
            assert bad in str(exc)
        else:
            raise AssertionError(bad)


def test_a_staging_freeze_stops_the_approval_deploy_and_says_why(
    local_release: ReleaseService, clock: FakeClock
) -> None:
    release = local_release
    release.clock = clock
    results = []
    release.subscribe(results.append)
    release.freeze(CAROL, "staging", timedelta(hours=2), "load test")
    assert release.approve(BOB, 1).outcome is Outcome.DONE
    (deploy,) = [r for r in results if r.action is Action.DEPLOY]
    assert deploy.outcome is Outcome.REFUSED and deploy.actor.system
    assert (
        deploy.message.startswith("Cannot deploy v1: staging is frozen until")
        and "load test" in deploy.message
    )
    assert deploy.data["frozen"].startswith("staging is frozen")
    assert release.serving("staging") is None
    assert release.deploy(ROSE, 1, "staging").message == deploy.message


def test_break_glass_by_oncall_promotes_flagged_and_audited(
    local_release: ReleaseService, clock: FakeClock
) -> None:
    release = validated(local_release, clock)
    release.freeze(ROSE, "production", timedelta(hours=4), "quarter close")
    not_oncall = release.promote(ROSE, 1, "hotfix INC-42")
    assert not_oncall.outcome is Outcome.REFUSED
    assert not_oncall.message.startswith("Only *oncall* can break glass: production is frozen")
    no_reason = release.promote(CAROL, 1, "   ")
    assert no_reason.outcome is Outcome.REFUSED and no_reason.message.startswith("Break-glass needs a reason")
    too_long = release.promote(CAROL, 1, "x" * 151)
    assert too_long.outcome is Outcome.REFUSED and "at most 150 characters" in too_long.message
    plan = release.promote_plan(1, CAROL, "hotfix INC-42")
    assert (
        not isinstance(plan, str) and plan.break_glass == "hotfix INC-42" and "quarter close" in plan.freeze
    )
    assert release.promote_plan(1, ROSE, "hotfix INC-42") == not_oncall.message
    clock.advance(1)  # the audit lists newest first, by time
    done = release.promote(CAROL, 1, "hotfix INC-42")
    assert done.outcome is Outcome.DONE and release.serving("production") == 1
    assert done.data["break_glass"] == "hotfix INC-42" and "Break-glass" in done.message
    (entry,) = release.audit(1, AuditFilter(action=Action.PROMOTE))
    assert entry.break_glass and entry.outcome is Outcome.DONE and "hotfix INC-42" in entry.detail
    assert AuditEntry.from_dict(entry.to_dict()).break_glass
    refused = release.audit(5, AuditFilter(action=Action.PROMOTE))[1:]
    assert refused and not any(e.break_glass for e in refused)


def test_a_window_freezes_by_the_clock_and_cannot_be_unfrozen(local_release: ReleaseService) -> None:
    release = local_release
    # Friday 2026-03-27 18:00 Paris time: inside the weekend window
    clock = FakeClock(datetime(2026, 3, 27, 17, 0, tzinfo=UTC).timestamp())
    validated(release, clock)
    release.freeze_windows = parse_windows("production: Fri 17:00 - Mon 08:00 Europe/Paris")
    refused = release.promote(ROSE, 1)
    assert refused.outcome is Outcome.REFUSED
    assert "production is frozen until 2026-03-30 06:00 UTC by the freeze window Fri 17:00 - Mon 08:00" in (
        refused.message
    )
    kept = release.unfreeze(CAROL, "production")
    assert kept.outcome is Outcome.REFUSED and "change only in settings" in kept.message
    clock.advance(61 * 3600)  # Monday 06:00 UTC, 08:00 in Paris after the change to summer time
    assert release.promote(ROSE, 1).outcome is Outcome.DONE


def test_freeze_and_break_glass_on_both_platforms(harness: Harness) -> None:  # noqa: F811 - the fixture
    """Local and SageMaker (under moto): a frozen production refuses a promote; oncall breaks glass."""
    release = harness.release
    version = harness.new_version(ALICE, {}, "0123abc")
    assert release.approve(BOB, version).outcome is Outcome.DONE
    harness.validate_staging(version)
    release.freeze(ROSE, "production", timedelta(hours=4), "quarter close")
    refused = release.promote(ROSE, version)
    assert refused.outcome is Outcome.REFUSED and 'by rose: "quarter close"' in refused.message
    assert release.serving("production") is None
    done = release.promote(CAROL, version, "hotfix INC-42")
    assert done.outcome is Outcome.DONE, done.message
    assert release.serving("production") == version
    flagged = [e for e in release.audit(10, AuditFilter(action=Action.PROMOTE)) if e.break_glass]
    assert [(e.outcome, e.actor_name) for e in flagged] == [(Outcome.DONE, "carol")]


def test_oncall_alone_breaks_a_freeze_but_break_glass_is_no_promote_without_one(
    local_release: ReleaseService, clock: FakeClock
) -> None:
    release = validated(local_release, clock)
    oncall = Actor("UDAVE", "dave", frozenset({Role.ONCALL}))
    plain = release.promote(oncall, 1)
    assert plain.outcome is Outcome.REFUSED and plain.required_role is Role.RELEASER
    unfrozen = release.promote(oncall, 1, "hotfix INC-43")
    assert unfrozen.outcome is Outcome.REFUSED
    assert unfrozen.message.startswith("Nothing is frozen in production")
    plan = release.promote_plan(1, oncall, "hotfix INC-43")
    assert plan == unfrozen.message.removesuffix(" Nothing changed.")
    nobody = release.promote(ERIN, 1, "hotfix INC-43")
    assert nobody.outcome is Outcome.REFUSED and nobody.required_role is Role.ONCALL
    assert release.serving("production") is None
    release.freeze(ROSE, "production", timedelta(hours=4), "quarter close")
    done = release.promote(oncall, 1, "hotfix INC-43")
    assert done.outcome is Outcome.DONE and release.serving("production") == 1
