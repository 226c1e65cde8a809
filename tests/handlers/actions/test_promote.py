"""The Promote button's lazy listener, called directly with real services: it asks, it never acts."""

from __future__ import annotations

from bot.services import Services
from handlers.actions.promote import promote_ack, promote_ask
from handlers.ids import ACTION_PROMOTE
from tests.conftest import platform_state
from tests.handlers.listeners import CAROL, answered, click, context_for, fake_ack, fake_respond, only_call


def test_promoting_an_unvalidated_version_is_refused_and_changes_nothing(services: Services) -> None:
    ack = fake_ack()
    promote_ack(ack)
    assert only_call(ack) == {}
    before = platform_state(services.platform)
    respond = fake_respond()
    promote_ask(click(ACTION_PROMOTE, {"v": 2}, CAROL), context_for(services, CAROL), respond)
    text = answered(respond)
    assert "v2" in text and "Nothing changed" in text
    assert platform_state(services.platform) == before
    assert services.release.serving("production") == 1
