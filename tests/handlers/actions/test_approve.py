"""The Approve button's listener functions, called directly with real services."""

from __future__ import annotations

import json

from bot.core.models import ApprovalStatus
from bot.services import Services
from handlers.actions.approve import approve_ack, approve_open, approve_run
from handlers.actions.button import STALE
from handlers.ids import ACTION_APPROVE, ACTION_APPROVE_FORM, VIEW_APPROVE
from runtimes.slack_local import LocalSlack
from tests.handlers.conftest import CHANNEL
from tests.handlers.listeners import BOB, answered, click, fake_ack, fake_respond, only_call, press


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


def test_the_approve_button_opens_the_comment_modal_for_its_version(
    services: Services, local_slack: LocalSlack
) -> None:
    body = click(ACTION_APPROVE_FORM, {"v": 2}, BOB)
    ack, respond = fake_ack(), fake_respond()
    approve_open(ack, body, local_slack.web_client(), respond)
    assert only_call(ack) == {}
    (opened,) = local_slack.ok_calls("views.open")
    view = opened.args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["callback_id"] == VIEW_APPROVE
    assert json.loads(view["private_metadata"]) == {"v": 2, "channel": CHANNEL}
    respond.assert_not_called()
    assert services.release.view(2).approval is ApprovalStatus.PENDING  # the submission approves


def test_when_the_approve_modal_cannot_open_it_names_the_command(local_slack: LocalSlack) -> None:
    local_slack.fail_next("views.open", status=200, error="expired_trigger_id")
    ack, respond = fake_ack(), fake_respond()
    approve_open(ack, click(ACTION_APPROVE_FORM, {"v": 2}, BOB), local_slack.web_client(), respond)
    assert "`/mlops approve v2 [comment]`" in answered(respond)
