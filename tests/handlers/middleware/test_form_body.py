"""A slash command whose text contains "payload" is read as the command it is, not as an empty body."""

from __future__ import annotations

from tests.handlers.conftest import Harness


def test_a_command_text_with_the_word_payload_is_answered(harness: Harness) -> None:
    response = harness.command("payload", "UERIN")
    assert (response.status == 200 and "Did you mean" in response.body) or "not a" in response.body
    rejected = harness.command("reject v2 the payload schema changed", "UBOB")
    assert rejected.status == 200
    answer = harness.wait_responses(1)[-1]["text"]
    assert "Rejected v2: the payload schema changed" in answer
    assert harness.services.release.view(2).approval.value == "Rejected"
