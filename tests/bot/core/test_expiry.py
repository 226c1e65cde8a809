"""Approval windows through the release core: reminders, expiry, refusal and Request again, on an injected
clock, across a restart and with two tickers at once (on SQLite and on DynamoDB under moto)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.core.expiry import NS_SCHEDULE, Reminder, describe_duration, parse_duration
from bot.core.models import Action, Outcome, Result
from bot.core.service import ReleaseService
from bot.core.store import Store
from ml.local import LocalPlatform
from ml.platform import ApprovalStatus, MLPlatform
from tests.bot.conftest import Backend, FakeClock
from tests.conftest import ALICE, BOB, CAROL, ERIN

TTL = timedelta(hours=72)
REMINDERS = (timedelta(hours=24), timedelta(hours=4))


@pytest.fixture
def platform(release_home: Path) -> Iterator[LocalPlatform]:
    """v1 approved and serving; v2 pending (alice's run), registered when the template was built."""
    with LocalPlatform(release_home) as p:
        yield p


@pytest.fixture
def registered_clock(platform: LocalPlatform) -> FakeClock:
    """A clock one minute after v2 was registered."""
    return FakeClock(platform.describe_model_package(2).created_at.timestamp() + 60)


def release_on(platform: MLPlatform, store: Store, clock: FakeClock) -> ReleaseService:
    return ReleaseService(
        platform,
        store,
        clock=clock,
        approval_ttl=TTL,
        approval_reminders=REMINDERS,
        auto_deploy_staging=False,
    )


@pytest.fixture
def release(
    platform: LocalPlatform, release_home: Path, registered_clock: FakeClock
) -> Iterator[ReleaseService]:
    from bot.store.sqlite import SQLiteStore

    store = SQLiteStore(release_home / "bot.db", clock=registered_clock)
    yield release_on(platform, store, registered_clock)
    store.close()


class Recorder:
    """Collects reminders and the results the core announces."""

    def __init__(self, release: ReleaseService) -> None:
        self.reminders: list[Reminder] = []
        self.results: list[Result] = []
        release.subscribe(self.results.append)

    def __call__(self, reminder: Reminder) -> None:
        self.reminders.append(reminder)


def registered(release: ReleaseService) -> None:
    release.open_approval_window(release.platform.describe_model_package(2))


def test_durations_read_seconds_to_days_and_refuse_anything_else() -> None:
    assert parse_duration("10s") == timedelta(seconds=10)
    assert parse_duration(" 30m ") == timedelta(minutes=30)
    assert parse_duration("72H") == timedelta(hours=72)
    assert describe_duration(timedelta(hours=72)) == "3d"
    assert describe_duration(timedelta(seconds=90)) == "90s"
    for bad in ("", "0h", "-1h", "1w", "h", "400d", "1.5h"):
        with pytest.raises(ValueError, match=r"10s, 30m, 72h, 7d|at most 365d"):
            parse_duration(bad)


def test_reminders_then_expiry_follow_the_clock_each_once(
    release: ReleaseService, registered_clock: FakeClock
) -> None:
    seen = Recorder(release)
    registered(release)
    window = release.approval_window(2)
    assert window is not None and window.expires - window.started == TTL
    assert release.run_scheduled_work(seen).reminded == []  # nothing due a minute after registration
    registered_clock.advance((TTL - timedelta(hours=24)).total_seconds())
    assert release.run_scheduled_work(seen).reminded == [2]
    assert [(r.version, r.lead) for r in seen.reminders] == [(2, timedelta(hours=24))]
    assert release.run_scheduled_work(seen).reminded == []  # done once
    registered_clock.advance(timedelta(hours=20).total_seconds())
    release.run_scheduled_work(seen)
    assert [r.lead for r in seen.reminders] == [timedelta(hours=24), timedelta(hours=4)]
    assert release.approve(BOB, 2).ok  # still open: four hours left
    assert not seen.results or all(r.action is not Action.EXPIRE for r in seen.results)


def test_after_expiry_approving_is_refused_with_the_reason_and_changes_nothing(
    release: ReleaseService, registered_clock: FakeClock
) -> None:
    seen = Recorder(release)
    registered(release)
    registered_clock.advance(TTL.total_seconds() + 1)
    report = release.run_scheduled_work(seen)
    assert report.expired == [2] and report.reminded == []  # a reminder after expiry says nothing
    expired = [r for r in seen.results if r.action is Action.EXPIRE]
    assert len(expired) == 1 and expired[0].version == 2 and "closed" in expired[0].message
    registered_clock.advance(1)  # the audit orders by time
    refused = release.approve(BOB, 2, "looks fine")
    assert refused.outcome is Outcome.REFUSED
    assert "v2's approval window closed at" in refused.message and "request-approval v2" in refused.message
    assert release.platform.describe_model_package(2).approval_status is ApprovalStatus.PENDING
    assert release.records.decision(2) is None
    entry = release.audit(1)[0]
    assert (entry.action, entry.outcome, entry.actor_id) == (Action.APPROVE, Outcome.REFUSED, BOB.id)
    assert release.reject(BOB, 2, "too old").ok  # rejecting stays possible


def test_a_version_nobody_opened_a_window_for_expires_from_its_registration(
    release: ReleaseService, registered_clock: FakeClock
) -> None:
    seen = Recorder(release)
    registered_clock.advance(TTL.total_seconds())
    assert release.approval_window(2) is None  # the registration event never reached this store
    assert release.approve(BOB, 2).outcome is Outcome.REFUSED
    window = release.approval_window(2)
    assert window is not None and window.started == release.platform.describe_model_package(2).created_at
    # the refusal announced the expiry at once (the card says so), and the ticker does not again
    assert [r.action for r in seen.results] == [Action.EXPIRE, Action.APPROVE]
    assert release.approve(BOB, 2).outcome is Outcome.REFUSED
    assert release.run_scheduled_work(seen).expired == []
    assert [r.action for r in seen.results].count(Action.EXPIRE) == 1


def test_request_again_restarts_the_window_for_trainers_only(
    release: ReleaseService, registered_clock: FakeClock
) -> None:
    seen = Recorder(release)
    registered(release)
    assert release.request_approval(ALICE, 2).outcome is Outcome.NOOP  # still open: nothing to restart
    registered_clock.advance(TTL.total_seconds())
    release.run_scheduled_work(seen)
    for other in (BOB, CAROL, ERIN):
        denied = release.request_approval(other, 2)
        assert denied.outcome is Outcome.REFUSED and "You need the *trainer* role" in denied.message
    registered_clock.advance(1)  # the audit orders by time
    done = release.request_approval(ALICE, 2)
    assert done.outcome is Outcome.DONE and "Requested approval of v2 again" in done.message
    window = release.approval_window(2)
    assert window is not None and window.started == registered_clock.now() and window.requested_by == "alice"
    entry = release.audit(1)[0]
    assert (entry.action, entry.outcome, entry.actor_id) == (Action.REQUEST_APPROVAL, Outcome.DONE, ALICE.id)
    # the new window reminds and expires on its own schedule; the old one's items are gone
    registered_clock.advance(timedelta(hours=48).total_seconds())
    release.run_scheduled_work(seen)
    assert [r.lead for r in seen.reminders] == [timedelta(hours=24)]
    assert release.approve(BOB, 2).ok


def test_a_decided_version_is_neither_reminded_nor_expired(
    release: ReleaseService, registered_clock: FakeClock
) -> None:
    seen = Recorder(release)
    registered(release)
    assert release.reject(BOB, 2, "label leak").ok
    registered_clock.advance(TTL.total_seconds() * 2)
    report = release.run_scheduled_work(seen)
    assert seen.reminders == [] and report.expired == [] and report.skipped == 3
    assert release.records.store.query(NS_SCHEDULE) == []
    assert release.request_approval(ALICE, 2).outcome is Outcome.REFUSED


def test_a_failed_reminder_is_tried_again_next_round(
    release: ReleaseService, registered_clock: FakeClock
) -> None:
    registered(release)
    registered_clock.advance((TTL - timedelta(hours=24)).total_seconds())

    def broken(_: Reminder) -> None:
        raise ConnectionError("slack is down")

    assert release.run_scheduled_work(broken).reminded == []
    seen = Recorder(release)
    assert release.run_scheduled_work(seen).reminded == [2]


def test_a_restart_neither_reminds_twice_nor_forgets_the_expiry(
    platform: LocalPlatform, backend: Backend, registered_clock: FakeClock
) -> None:
    first = release_on(platform, backend.new(), registered_clock)
    registered(first)
    registered_clock.advance((TTL - timedelta(hours=24)).total_seconds())
    assert first.run_scheduled_work(Recorder(first)).reminded == [2]
    first.records.store.close()
    # a new process on the same store
    again = release_on(platform, backend.new(), registered_clock)
    seen = Recorder(again)
    assert again.run_scheduled_work(seen).reminded == []
    registered_clock.advance(timedelta(hours=20).total_seconds())
    assert again.run_scheduled_work(seen).reminded == [2]
    registered_clock.advance(timedelta(hours=4).total_seconds())
    assert again.run_scheduled_work(seen).expired == [2]
    assert [r.lead for r in seen.reminders] == [timedelta(hours=4)]
    assert again.approve(BOB, 2).outcome is Outcome.REFUSED


def test_two_tickers_at_once_act_once(
    platform: LocalPlatform, backend: Backend, registered_clock: FakeClock
) -> None:
    tickers = [release_on(platform, backend.new(), registered_clock) for _ in range(2)]
    registered(tickers[0])
    registered(tickers[1])  # both saw the registration: the same window, scheduled once
    registered_clock.advance(TTL.total_seconds() - timedelta(hours=4).total_seconds())
    seen = [Recorder(t) for t in tickers]
    start = threading.Barrier(2)
    reports = []

    def tick(i: int) -> None:
        start.wait()
        reports.append(tickers[i].run_scheduled_work(seen[i]))

    threads = [threading.Thread(target=tick, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    # both reminders (24h, 4h) were due: each went out once, from one ticker or the other
    assert sorted(r.lead for s in seen for r in s.reminders) == [timedelta(hours=4), timedelta(hours=24)]
    registered_clock.advance(timedelta(hours=4).total_seconds())
    start.reset()
    reports.clear()
    threads = [threading.Thread(target=tick, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r.expired for r in reports) == [[], [2]]
    expiries = [e for e in tickers[0].audit(20) if e.action is Action.EXPIRE]
    assert len(expiries) == 1


def test_on_sagemaker_the_window_counts_from_the_registrys_creation_time(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from moto import mock_aws

    from bot.store.sqlite import SQLiteStore
    from ml.sagemaker import SageMakerPlatform
    from ml.sagemaker.clients import aws_session
    from tests.ml.sagemaker import moto_sagemaker
    from tests.ml.sagemaker.conftest import make_config

    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    moto_sagemaker.install()
    with mock_aws():
        platform = SageMakerPlatform(make_config())
        package = moto_sagemaker.register_model_package(
            aws_session().client("sagemaker", region_name="us-east-1"),
            aws_session().client("s3", region_name="us-east-1"),
            platform.model_package_group,
            lineage={"requested_by": ALICE.id},
        )
        clock = FakeClock(platform.describe_model_package(package.version).created_at.timestamp())
        store = SQLiteStore(tmp_path / "bot.db", clock=clock)
        try:
            release = release_on(platform, store, clock)
            clock.advance(TTL.total_seconds())
            refused = release.approve(BOB, package.version)
            assert refused.outcome is Outcome.REFUSED and "approval window closed" in refused.message
            assert platform.describe_model_package(package.version).approval_status is ApprovalStatus.PENDING
            assert release.request_approval(ALICE, package.version).outcome is Outcome.DONE
            assert release.approve(BOB, package.version).outcome is Outcome.DONE
            assert platform.describe_model_package(package.version).approval_status is ApprovalStatus.APPROVED
        finally:
            platform.close()
            store.close()
