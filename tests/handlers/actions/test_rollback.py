"""The Rollback button's lazy listener: it asks before anything changes."""

from __future__ import annotations

from bot.services import Services
from handlers.actions.rollback import rollback_ack, rollback_ask
from handlers.ids import ACTION_ROLLBACK
from tests.handlers.listeners import CAROL, answered, click, context_for, fake_ack, fake_respond, only_call


def test_a_card_of_a_version_production_no_longer_serves_is_out_of_date(services: Services) -> None:
    ack = fake_ack()
    rollback_ack(ack)
    assert only_call(ack) == {}
    respond = fake_respond()
    rollback_ask(click(ACTION_ROLLBACK, {"v": 7}, CAROL), context_for(services, CAROL), respond)
    assert "Production serves v1, not v7" in answered(respond)


def test_with_no_earlier_version_there_is_nothing_to_confirm(services: Services) -> None:
    respond = fake_respond()
    rollback_ask(click(ACTION_ROLLBACK, {"v": 1}, CAROL), context_for(services, CAROL), respond)
    text = answered(respond)
    assert text.startswith(":information_source:") and text.endswith("Nothing changed.")
    assert services.release.serving("production") == 1
