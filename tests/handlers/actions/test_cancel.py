"""The Cancel button of a confirmation, promote or rollback."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from slack_bolt import Respond

from handlers.actions.cancel import cancel_ack, promote_cancel_run, rollback_cancel_run
from tests.handlers.listeners import fake_ack, fake_respond, only_call


@pytest.mark.parametrize(
    ("run", "what"), [(rollback_cancel_run, "Rollback"), (promote_cancel_run, "Promote")]
)
def test_cancel_replaces_the_confirmation(run: Callable[[Respond], None], what: str) -> None:
    ack, respond = fake_ack(), fake_respond()
    cancel_ack(ack)
    run(respond)
    assert only_call(ack) == {}
    kwargs = only_call(respond)
    assert kwargs["replace_original"] is True and kwargs["response_type"] == "ephemeral"
    assert kwargs["text"] == f"{what} cancelled; nothing changed."
