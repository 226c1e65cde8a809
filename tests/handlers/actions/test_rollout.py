"""The live rollout message's buttons through the Slack app (signed block_actions on the local Slack):
Stop and roll back, Finish now, a button of a rollout that is no longer the current one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from handlers.notifications import notifications_for
from runtimes.slack_local import LocalSlack, Message
from tests.conftest import Closer
from tests.handlers.commands.test_commands import buttons
from tests.handlers.conftest import Harness, harness_with
from tests.scripted_rollout import START, ScriptedPlatform, progress


@pytest.fixture
def scripted(release_home: Path, local_slack: LocalSlack, close_later: Closer) -> Iterator[Harness]:
    with harness_with(release_home, local_slack, close_later, platform=ScriptedPlatform(release_home)) as h:
        yield h


def platform_of(h: Harness) -> ScriptedPlatform:
    platform = h.services.platform
    assert isinstance(platform, ScriptedPlatform)
    return platform


def live_message(h: Harness) -> Message:
    """The rollout's message, as the channel has it now."""
    notifier = h.services.notifier
    assert notifier is not None and notifier.flush(timeout=20)
    shown = [m for m in h.slack.top_level() if m.text.startswith(("Rollout of v2", ":"))]
    assert len(shown) == 1, [m.text for m in h.slack.top_level()]
    return shown[0]


def post_live_message(h: Harness) -> Message:
    platform_of(h).current = progress(invocations=30)
    notifier = h.services.notifier
    assert notifier is not None
    assert notifications_for(h.services, notifier).rollouts.refresh("production") == "posted"
    return live_message(h)


def test_stop_and_roll_back_stops_it_and_the_message_says_who(scripted: Harness) -> None:
    shown = post_live_message(scripted)
    value = buttons(shown.blocks)["rollout_stop"]
    assert json.loads(value) == {"env": "production", "at": START.isoformat()}
    scripted.click("rollout_stop", value, "UDAVE")
    answer = scripted.wait_responses(1)[-1]
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert "Stopped the rollout of v2: all traffic is back on v1." in answer["text"]
    assert platform_of(scripted).cut_short == [("stop", "dave")]
    scripted.idle()
    after = live_message(scripted)
    assert after.ts == shown.ts  # the same message, updated in place
    assert "Stopped by @dave; production serves v1 again." in json.dumps(after.blocks)
    assert "rollout_stop" not in buttons(after.blocks)
    entry = scripted.services.release.audit(1)[0]
    assert (entry.actor_id, entry.action.value, entry.outcome.value) == ("UDAVE", "stop-rollout", "done")


def test_finish_now_moves_all_traffic_to_the_new_version(scripted: Harness) -> None:
    shown = post_live_message(scripted)
    scripted.click("rollout_finish", buttons(shown.blocks)["rollout_finish"], "UROSE")
    assert "Finished the rollout of v2" in scripted.wait_responses(1)[-1]["text"]
    scripted.idle()
    assert "Promoted v2 to production (finished early by @rose)." in json.dumps(live_message(scripted).blocks)


def test_a_button_of_another_rollout_changes_nothing(scripted: Harness) -> None:
    shown = post_live_message(scripted)
    value = json.loads(buttons(shown.blocks)["rollout_stop"])
    value["at"] = "2026-01-01T00:00:00+00:00"
    scripted.click("rollout_stop", json.dumps(value), "UCAROL")
    assert "no longer the current one; nothing changed" in scripted.wait_responses(1)[-1]["text"]
    assert platform_of(scripted).cut_short == []


@pytest.mark.parametrize("value", ['{"env":"prod","at":"x"}', '{"env":"production"}', "not json"])
def test_a_forged_value_is_stale(scripted: Harness, value: str) -> None:
    platform_of(scripted).current = progress()
    scripted.click("rollout_stop", value, "UCAROL")
    assert "out of date or malformed" in scripted.wait_responses(1)[-1]["text"]
    assert platform_of(scripted).cut_short == []
