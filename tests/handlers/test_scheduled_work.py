"""Approval expiry through the Slack app on the local platform: the registration event opens the window,
the ticker's reminders reply in the card thread mentioning the approver group (once, across a restart),
the card turns "expired" with Request again, and approving is refused from the command, the buttons and
the modal alike until a trainer requests approval again. Time is an injected clock."""

from __future__ import annotations

import json
from pathlib import Path

from bot.core.models import Action, ApprovalStatus, Outcome
from bot.services import Services
from handlers.ids import ACTION_APPROVE, ACTION_REQUEST_APPROVAL, VIEW_APPROVE
from handlers.notifications import notifications_for
from handlers.render.release_card import card_key
from handlers.scheduled_work import ScheduledWork, start_scheduled_work
from ml.local.events import model_package_event
from runtimes.slack_local import LocalSlack, Message, group_id
from tests.bot.conftest import FakeClock
from tests.conftest import Closer
from tests.handlers.conftest import CHANNEL, Harness, drain, make_harness, make_services

EXPIRY = {"mlops_approval_ttl": "72h", "mlops_approval_reminders": "24h,4h"}
REFUSAL = "v2's approval window closed at"


def expiring(slack: LocalSlack, home: Path, clock: FakeClock | None = None) -> tuple[Harness, FakeClock]:
    h = make_harness(slack, make_services(home, **EXPIRY))
    if clock is None:
        created = h.services.platform.describe_model_package(2).created_at
        clock = FakeClock(created.timestamp() + 60)
    h.services.release.clock = clock
    return h, clock


def register_v2(services: Services) -> None:
    """The registry's Model Package State Change for v2, as the platform's event bus delivers it."""
    package = services.platform.describe_model_package(2)
    assert services.notifier is not None
    notifications_for(services, services.notifier).on_event(
        model_package_event(
            group=package.group,
            version=2,
            approval_status=package.approval_status,
            created_at=package.created_at,
            modified_at=package.created_at,
            approval_description=None,
            model_data_url=package.artifact_uri,
            evaluation_uri=package.artifact_uri + "evaluation.json",
            generated_by=None,
            customer_metadata=package.lineage,
        )
    )


def card(h: Harness) -> Message:
    ref = h.services.store.get("message", card_key(2))
    assert ref is not None, "no card for v2"
    found = h.slack.message(CHANNEL, str(ref["ts"]))
    assert found is not None
    return found


def card_text(h: Harness) -> str:
    return json.dumps(card(h).blocks)


def thread(h: Harness) -> list[str]:
    """The card thread's replies in words (files, such as the confusion matrix, left out)."""
    return [m.text for m in h.slack.thread(card(h).ts) if not m.files]


def tick(h: Harness, hours: float = 0) -> None:
    clock = h.services.release.clock
    assert isinstance(clock, FakeClock)
    clock.advance(hours * 3600)
    assert h.services.notifier is not None
    ScheduledWork(h.services, h.services.notifier).run_due()
    assert h.services.notifier.flush(timeout=20)


def test_reminders_reply_in_the_card_thread_once_and_a_restart_still_expires(
    release_home: Path, local_slack: LocalSlack, close_later: Closer
) -> None:
    h, clock = expiring(local_slack, release_home)
    register_v2(h.services)
    assert h.services.notifier is not None and h.services.notifier.flush(timeout=20)
    assert "Approval open until" in card_text(h)
    tick(h, 47)
    assert thread(h) == []  # 25 hours left: nothing due yet
    tick(h, 1)
    mention = f"<!subteam^{group_id('ml-approvers')}|ml-approvers>"
    (reminder,) = thread(h)
    assert mention in reminder and "v2 is waiting for approval" in reminder and "another 1d" in reminder
    tick(h)
    assert len(thread(h)) == 1  # done once
    drain(h.app, h.services)
    h.services.close()

    # a restart: new services and notifier on the same store
    again, _ = expiring(local_slack, release_home, clock)
    try:
        tick(again)
        assert len(thread(again)) == 1
        tick(again, 20)
        assert len(thread(again)) == 2 and "another 4h" in thread(again)[1]
        tick(again, 4)
        assert "Approval expired" in card_text(again) and ACTION_REQUEST_APPROVAL in card_text(again)
        assert REFUSAL in thread(again)[-1]
        assert [e.action for e in again.services.release.audit(5)].count(Action.EXPIRE) == 1
    finally:
        drain(again.app, again.services)
        close_later(again.services.close)


def test_an_expired_version_is_refused_everywhere_until_a_trainer_requests_again(
    release_home: Path, local_slack: LocalSlack, close_later: Closer
) -> None:
    h, _ = expiring(local_slack, release_home)
    try:
        register_v2(h.services)
        tick(h, 72)
        assert "Approval expired" in card_text(h)
        assert "approve_form" not in card_text(h)  # the card offers Request again, not Approve
        before = h.state()

        assert h.command("approve v2 ship it", "UBOB").status == 200
        h.idle()
        h.click(ACTION_APPROVE, '{"v":2}', "UBOB")
        h.idle()
        h.dispatch(h.view_body(2, "fine", user="UBOB", callback_id=VIEW_APPROVE))
        h.idle()
        told = [m.text for m in h.slack.messages(CHANNEL) if m.ephemeral_to == "UBOB"]
        refusals = {said for said in told if REFUSAL in said}
        # the command, the button and the modal: three answers, in the same words
        assert len([said for said in told if REFUSAL in said]) == 3 and len(refusals) == 1, told
        assert "request-approval v2" in refusals.pop()
        assert h.state() == before
        assert h.services.platform.describe_model_package(2).approval_status is ApprovalStatus.PENDING
        refused = [e for e in h.services.release.audit(10) if e.action is Action.APPROVE]
        assert len(refused) == 3 and all(e.outcome is Outcome.REFUSED for e in refused)

        for other in ("UBOB", "UCAROL", "UERIN"):  # trainers only
            count = len(h.slack.responses())
            h.click(ACTION_REQUEST_APPROVAL, '{"v":2}', other)
            assert "You need the *trainer* role" in str(h.wait_responses(count + 1)[-1]["text"])
        assert "Approval expired" in card_text(h)

        count = len(h.slack.responses())
        h.click(ACTION_REQUEST_APPROVAL, '{"v":2}', "UALICE")
        assert "Requested approval of v2 again" in str(h.wait_responses(count + 1)[-1]["text"])
        h.idle()
        assert "Approval expired" not in card_text(h) and "requested again by alice" in card_text(h)
        assert "approve_form" in card_text(h)  # Approve is back
        assert any("Requested approval of v2 again" in t for t in thread(h))
        # the refusals and the request share the clock's instant: compare the set, not the order
        requests = [e for e in h.services.release.audit(10) if e.action is Action.REQUEST_APPROVAL]
        assert sorted((e.actor_id, e.outcome.value) for e in requests) == [
            ("UALICE", "done"),
            ("UBOB", "refused"),
            ("UCAROL", "refused"),
            ("UERIN", "refused"),
        ]

        count = len(h.slack.responses())
        h.command("approve v2", "UBOB")
        assert "Approved v2" in str(h.wait_responses(count + 1)[-1]["text"])
    finally:
        drain(h.app, h.services)
        close_later(h.services.close)


def test_the_ticker_starts_only_when_approvals_expire_or_versions_stay_warm(
    release_home: Path, local_slack: LocalSlack, close_later: Closer
) -> None:
    plain = make_harness(local_slack, make_services(release_home, mlops_warm_rollback="off"))
    timed, _ = expiring(local_slack, release_home)
    try:
        assert start_scheduled_work(plain.services, plain.services.notifier) is None
        ticker = start_scheduled_work(timed.services, timed.services.notifier)
        assert ticker is not None
        ticker.close(timeout=5)  # closing stops it at once: the timer waits on an event
        assert ticker._thread is not None and not ticker._thread.is_alive()
    finally:
        for h in (plain, timed):
            drain(h.app, h.services)
            close_later(h.services.close)


def test_request_again_when_approvals_do_not_expire_says_so(harness: Harness) -> None:
    harness.command("request-approval v2", "UALICE")
    said = str(harness.wait_responses(1)[-1]["text"])
    assert "Approvals do not expire here (MLOPS_APPROVAL_TTL is off)." in said


def test_the_window_reaches_the_help_and_a_bad_version_is_a_usage_error(harness: Harness) -> None:
    assert "request-approval" in harness.command("help", "UALICE").body
    response = harness.command("request-approval two", "UALICE")
    assert "not a model version" in response.body or "vN" in response.body
    assert harness.services.store.query("approval-window") == []
