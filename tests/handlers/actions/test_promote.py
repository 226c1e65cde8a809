"""The Promote button's lazy listener, called directly with real services."""

from __future__ import annotations

from bot.services import Services
from handlers.actions.promote import promote_ack, promote_run
from handlers.ids import ACTION_PROMOTE
from tests.conftest import platform_state
from tests.handlers.listeners import CAROL, answered, click, fake_ack, only_call, press


def test_promoting_an_unvalidated_version_is_refused_and_changes_nothing(services: Services) -> None:
    ack = fake_ack()
    promote_ack(ack)
    assert only_call(ack) == {}
    before = platform_state(services.platform)
    text = answered(press(promote_run, click(ACTION_PROMOTE, {"v": 2}, CAROL), services, CAROL))
    assert text.startswith(":no_entry:") and "v2" in text
    assert platform_state(services.platform) == before
    assert services.release.serving("production") == 1
