"""The rollback confirmation's Cancel button."""

from __future__ import annotations

from handlers.actions.rollback_cancel import rollback_cancel_ack, rollback_cancel_run
from tests.handlers.listeners import fake_ack, fake_respond, only_call


def test_cancel_replaces_the_confirmation() -> None:
    ack, respond = fake_ack(), fake_respond()
    rollback_cancel_ack(ack)
    rollback_cancel_run(respond)
    assert only_call(ack) == {}
    kwargs = only_call(respond)
    assert kwargs["replace_original"] is True and kwargs["response_type"] == "ephemeral"
    assert kwargs["text"] == "Rollback cancelled; nothing changed."
