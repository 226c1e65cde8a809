"""The reject modal's submission: checked in the ack, acted on in the lazy listener."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from bot.core.models import ApprovalStatus
from bot.services import Services
from handlers.commands.parse import MAX_REASON
from handlers.ids import REJECT_REASON_BLOCK, VIEW_REJECT
from handlers.views.reject import REASON_ACTION, reject_submit_ack, reject_submit_run
from runtimes.slack_local import LocalSlack
from tests.handlers.conftest import CHANNEL
from tests.handlers.listeners import BOB, context_for, fake_ack, only_call, request_for


def submission(version: Any, reason: str) -> dict[str, Any]:
    value = {"type": "plain_text_input", "value": reason}
    return {
        "type": "view_submission",
        "user": {"id": BOB.id, "username": BOB.name},
        "trigger_id": f"trig-{time.monotonic_ns()}",
        "view": {
            "callback_id": VIEW_REJECT,
            "private_metadata": json.dumps({"v": version, "channel": CHANNEL}),
            "state": {"values": {REJECT_REASON_BLOCK: {REASON_ACTION: value}}},
        },
    }


@pytest.mark.parametrize(
    ("version", "reason", "error"),
    [
        (2, "   ", "A rejection needs a reason."),
        (2, "x" * (MAX_REASON + 1), f"At most {MAX_REASON} characters."),
        ("v2", "drift", "This form is out of date; reopen it."),
    ],
)
def test_the_ack_keeps_the_modal_open_with_what_is_wrong(version: Any, reason: str, error: str) -> None:
    ack = fake_ack()
    reject_submit_ack(ack, submission(version, reason))
    assert only_call(ack) == dict(response_action="errors", errors={REJECT_REASON_BLOCK: error})


def test_a_reason_rejects_the_version_and_tells_the_submitter(
    services: Services, local_slack: LocalSlack
) -> None:
    body = submission(2, "drift on the holdout set")
    ack = fake_ack()
    reject_submit_ack(ack, body)
    assert only_call(ack) == {}
    reject_submit_run(body, context_for(services, BOB), local_slack.web_client(), request_for(body))
    assert services.release.view(2).approval is ApprovalStatus.REJECTED
    (told,) = local_slack.ok_calls("chat.postEphemeral")
    assert told.args["user"] == BOB.id and told.args["channel"] == CHANNEL
    assert "v2" in told.args["text"]
