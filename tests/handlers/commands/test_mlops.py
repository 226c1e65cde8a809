"""The ``/mlops`` listener functions, called directly: what the ack says, and what the lazy half answers."""

from __future__ import annotations

from bot.services import Services
from handlers.commands.mlops import COMMAND, mlops_ack, mlops_run
from tests.conftest import platform_state
from tests.handlers.listeners import (
    BOB,
    answered,
    context_for,
    fake_ack,
    fake_respond,
    only_call,
    request_for,
)


def command(text: str) -> dict[str, str]:
    return {"command": COMMAND, "text": text, "user_id": BOB.id, "trigger_id": "trig-1"}


def test_a_usage_error_is_the_ack_itself(services: Services) -> None:
    ack = fake_ack()
    mlops_ack(ack, command("aprove v2"), context_for(services, BOB))
    kwargs = only_call(ack)
    assert kwargs["response_type"] == "ephemeral" and "Did you mean `/mlops approve v2`?" in kwargs["text"]


def test_slow_work_gets_a_working_line_and_reads_a_bare_ack(services: Services) -> None:
    ack = fake_ack()
    mlops_ack(ack, command("approve v2"), context_for(services, BOB))
    assert only_call(ack) == dict(
        text=":hourglass_flowing_sand: Working on `/mlops approve`…", response_type="ephemeral"
    )
    ack = fake_ack()
    mlops_ack(ack, command("status"), context_for(services, BOB))
    assert only_call(ack) == {}


def test_the_lazy_half_answers_a_read_and_changes_nothing(services: Services) -> None:
    before = platform_state(services.platform)
    body = command("status")
    respond = fake_respond()
    mlops_run(body, context_for(services, BOB), respond, request_for(body))
    assert answered(respond).startswith("MLOps status — staging: v1; production: v1")
    assert platform_state(services.platform) == before


def test_an_answer_replaces_the_working_line_and_a_read_posts_its_own(services: Services) -> None:
    body = command("approve v9")
    respond = fake_respond()
    mlops_run(body, context_for(services, BOB), respond, request_for(body))
    refusal = only_call(respond)
    assert refusal["replace_original"] is True and "v9" in refusal["text"]
    body = command("status")
    respond = fake_respond()
    mlops_run(body, context_for(services, BOB), respond, request_for(body))
    assert only_call(respond)["replace_original"] is False  # its ack showed nothing to replace
