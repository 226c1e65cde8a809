"""The rollback confirmation's Confirm button: acts only on the plan the person was shown."""

from __future__ import annotations

from bot.services import Services
from handlers.actions.button import STALE
from handlers.actions.rollback_confirm import rollback_confirm_ack, rollback_confirm_run
from handlers.ids import ACTION_ROLLBACK_CONFIRM
from tests.handlers.listeners import CAROL, click, fake_ack, only_call, press


def test_a_plan_that_no_longer_holds_changes_nothing(services: Services) -> None:
    ack = fake_ack()
    rollback_confirm_ack(ack)
    assert only_call(ack) == {}
    body = click(ACTION_ROLLBACK_CONFIRM, {"env": "production", "from": 3, "to": 2}, CAROL)
    answer = only_call(press(rollback_confirm_run, body, services, CAROL))
    assert answer["replace_original"] is True
    assert "production now serves v1, not v3" in answer["text"]
    assert "Run `/mlops rollback production` again." in answer["text"]
    assert services.release.serving("production") == 1


def test_a_forged_environment_is_stale(services: Services) -> None:
    body = click(ACTION_ROLLBACK_CONFIRM, {"env": "prod; drop", "from": 1, "to": 1}, CAROL)
    assert only_call(press(rollback_confirm_run, body, services, CAROL))["text"] == STALE
    assert services.release.serving("production") == 1
