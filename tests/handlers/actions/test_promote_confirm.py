"""The promote confirmation's Confirm button: acts only on the plan the person was shown."""

from __future__ import annotations

import pytest

from bot.services import Services
from handlers.actions.button import STALE
from handlers.actions.promote_confirm import promote_confirm_ack, promote_confirm_run
from handlers.ids import ACTION_PROMOTE_CONFIRM
from tests.conftest import platform_state
from tests.handlers.listeners import BOB, CAROL, click, fake_ack, only_call, press


def approve_v2(services: Services) -> None:
    """v2 Approved by bob, deployed to staging and validated there (v1 still serves production)."""
    assert services.release.approve(BOB, 2).ok
    validation = services.release.view(2).validation
    assert validation is not None and validation.passed


def test_confirm_promotes_once(services: Services) -> None:
    approve_v2(services)
    ack = fake_ack()
    promote_confirm_ack(ack)
    assert only_call(ack) == {}
    body = click(ACTION_PROMOTE_CONFIRM, {"v": 2, "from": 1}, CAROL)
    answer = only_call(press(promote_confirm_run, body, services, CAROL))
    assert answer["replace_original"] is True
    assert "Promoted v2 to production (was v1)" in answer["text"]
    assert services.release.serving("production") == 2
    assert press(promote_confirm_run, body, services, CAROL).call_count == 0  # a redelivery does nothing


@pytest.mark.parametrize(("source", "shown"), [(3, "not v3"), (0, "not no model")])
def test_a_plan_that_no_longer_holds_changes_nothing(services: Services, source: int, shown: str) -> None:
    approve_v2(services)
    body = click(ACTION_PROMOTE_CONFIRM, {"v": 2, "from": source}, CAROL)
    text = only_call(press(promote_confirm_run, body, services, CAROL))["text"]
    assert f"production now serves v1, {shown} as when you were asked" in text
    assert "Run `/mlops promote v2` again." in text
    assert services.release.serving("production") == 1


def test_a_version_that_cannot_be_promoted_changes_nothing(services: Services) -> None:
    before = platform_state(services.platform)
    body = click(ACTION_PROMOTE_CONFIRM, {"v": 2, "from": 1}, CAROL)
    text = only_call(press(promote_confirm_run, body, services, CAROL))["text"]
    assert "v2 is PendingManualApproval: only Approved versions can be promoted. Nothing changed." in text
    assert platform_state(services.platform) == before


@pytest.mark.parametrize(
    "value",
    [
        {"v": 2, "from": True},
        {"v": 2, "from": -1},
        {"v": 2, "from": "1"},
        {"v": "2; drop", "from": 1},
        {"from": 1},
    ],
)
def test_forged_values_are_stale(services: Services, value: dict[str, object]) -> None:
    approve_v2(services)
    body = click(ACTION_PROMOTE_CONFIRM, value, CAROL)
    assert only_call(press(promote_confirm_run, body, services, CAROL))["text"] == STALE
    assert services.release.serving("production") == 1
