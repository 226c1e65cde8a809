"""The approval modal's submission: an optional comment, checked in the ack, approved in the lazy listener."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.models import Actor, ApprovalStatus, Role
from bot.services import Services
from handlers.commands.parse import MAX_REASON
from handlers.ids import REJECT_REASON_BLOCK, VIEW_APPROVE
from handlers.views.approve import approve_modal, approve_submit_ack, approve_submit_run
from handlers.views.form import TEXT_ACTION
from runtimes.slack_local import LocalSlack
from tests.handlers.conftest import CHANNEL
from tests.handlers.listeners import BOB, context_for, fake_ack, only_call, request_for
from tests.handlers.views.test_reject import submission as reject_submission

#: alice, who trained v2, made an approver: four-eyes still refuses her approval of it
ALICE = Actor("UALICE", "alice", frozenset({Role.APPROVER}))


def submission(version: Any, comment: str | None, user: Any = BOB) -> dict[str, Any]:
    body = reject_submission(version, comment or "")
    body["user"] = {"id": user.id, "username": user.name}
    body["view"]["callback_id"] = VIEW_APPROVE
    if comment is None:  # Slack sends an empty optional field as value null
        body["view"]["state"]["values"][REJECT_REASON_BLOCK][TEXT_ACTION]["value"] = None
    return body


def test_the_modal_asks_for_an_optional_comment() -> None:
    view = approve_modal(2, CHANNEL)
    (field,) = [b for b in view["blocks"] if b["type"] == "input"]
    assert view["callback_id"] == VIEW_APPROVE and view["title"]["text"] == "Approve v2"
    assert field["optional"] is True and field["block_id"] == REJECT_REASON_BLOCK
    assert field["element"]["max_length"] == MAX_REASON


@pytest.mark.parametrize(
    ("version", "comment", "error"),
    [
        (2, "x" * (MAX_REASON + 1), f"At most {MAX_REASON} characters."),
        ("v2", "fine", "This form is out of date; reopen it."),
    ],
)
def test_the_ack_keeps_the_modal_open_with_what_is_wrong(version: Any, comment: str, error: str) -> None:
    ack = fake_ack()
    approve_submit_ack(ack, submission(version, comment))
    assert only_call(ack) == dict(response_action="errors", errors={REJECT_REASON_BLOCK: error})


@pytest.mark.parametrize("comment", ["watch recall on <!channel>", None])
def test_a_submission_approves_with_its_comment_and_tells_the_submitter(
    services: Services, local_slack: LocalSlack, comment: str | None
) -> None:
    body = submission(2, comment)
    ack = fake_ack()
    approve_submit_ack(ack, body)
    assert only_call(ack) == {}
    approve_submit_run(body, context_for(services, BOB), local_slack.web_client(), request_for(body))
    view = services.release.view(2)
    assert view.approval is ApprovalStatus.APPROVED
    assert view.decision is not None and view.decision.reason == (comment or "")
    (told,) = local_slack.ok_calls("chat.postEphemeral")
    assert told.args["user"] == BOB.id and told.args["channel"] == CHANNEL
    assert "Approved v2" in told.args["text"] and "<!channel>" not in told.args["text"]
    # the same submission delivered again does not act twice
    approve_submit_run(body, context_for(services, BOB), local_slack.web_client(), request_for(body))
    assert len(local_slack.ok_calls("chat.postEphemeral")) == 1


def test_the_requester_cannot_approve_their_own_model_through_the_form(
    services: Services, local_slack: LocalSlack
) -> None:
    body = submission(2, "mine is fine", user=ALICE)
    approve_submit_run(body, context_for(services, ALICE), local_slack.web_client(), request_for(body))
    assert services.release.view(2).approval is ApprovalStatus.PENDING
    (told,) = local_slack.ok_calls("chat.postEphemeral")
    assert "v2" in told.args["text"]
