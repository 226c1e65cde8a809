"""The Reject button's listener: it acks, then opens the reason modal on the local Slack."""

from __future__ import annotations

import json

from bot.services import Services
from handlers.actions.reject import reject_open
from handlers.ids import ACTION_REJECT, VIEW_REJECT
from runtimes.slack_local import LocalSlack
from tests.handlers.conftest import CHANNEL
from tests.handlers.listeners import BOB, answered, click, fake_ack, fake_respond, only_call


def test_opens_the_reason_modal_for_the_version_on_the_card(
    services: Services, local_slack: LocalSlack
) -> None:
    body = click(ACTION_REJECT, {"v": 2}, BOB)
    ack, respond = fake_ack(), fake_respond()
    reject_open(ack, body, local_slack.web_client(), respond)
    assert only_call(ack) == {}
    (opened,) = local_slack.ok_calls("views.open")
    view = opened.args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["callback_id"] == VIEW_REJECT
    assert json.loads(view["private_metadata"]) == {"v": 2, "channel": CHANNEL}
    respond.assert_not_called()


def test_when_the_modal_cannot_open_it_names_the_command(services: Services, local_slack: LocalSlack) -> None:
    local_slack.fail_next("views.open", status=200, error="expired_trigger_id")
    ack, respond = fake_ack(), fake_respond()
    reject_open(ack, click(ACTION_REJECT, {"v": 2}, BOB), local_slack.web_client(), respond)
    assert only_call(ack) == {}
    assert "`/mlops reject v2 &lt;reason&gt;`" in answered(respond)


def test_a_stale_button_opens_nothing(local_slack: LocalSlack) -> None:
    ack, respond = fake_ack(), fake_respond()
    reject_open(ack, click(ACTION_REJECT, "not json", BOB), local_slack.web_client(), respond)
    assert only_call(ack) == {}
    assert "out of date" in answered(respond)
    assert local_slack.calls("views.open") == []
