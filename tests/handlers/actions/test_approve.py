"""The Approve button's listener functions, called directly with real services."""

from __future__ import annotations

from bot.core.models import ApprovalStatus
from bot.services import Services
from handlers.actions.approve import approve_ack, approve_run
from handlers.actions.button import STALE
from handlers.ids import ACTION_APPROVE
from tests.handlers.listeners import BOB, answered, click, fake_ack, only_call, press


def test_the_ack_acknowledges_at_once_and_says_nothing() -> None:
    ack = fake_ack()
    approve_ack(ack)
    assert only_call(ack) == {}


def test_approves_the_version_the_button_carries_once(services: Services) -> None:
    body = click(ACTION_APPROVE, {"v": 2}, BOB)
    assert "Approved v2" in answered(press(approve_run, body, services, BOB))
    assert services.release.view(2).approval is ApprovalStatus.APPROVED
    decisions = services.store.query("decision")
    # Lambda's async retry may deliver the same click again: it acts once, and says nothing more
    press(approve_run, body, services, BOB).assert_not_called()
    assert services.store.query("decision") == decisions


def test_a_stale_button_changes_nothing(services: Services) -> None:
    respond = press(approve_run, click(ACTION_APPROVE, '{"v": "two"}', BOB), services, BOB)
    assert answered(respond) == STALE
    assert services.release.view(2).approval is ApprovalStatus.PENDING
