"""Progressive delivery through the Slack app (signed requests; the local platform with scripted
rollouts): a rollout per promote, its confirmation, bad rollouts, ``rollout stop|finish``, help."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from ml.rollout_state import RollbackPath, WarmStandby
from runtimes.slack_local import LocalSlack
from tests.conftest import CAROL, Closer
from tests.handlers.commands.test_commands import buttons
from tests.handlers.conftest import Harness, harness_with
from tests.scripted_rollout import START, ScriptedPlatform, progress

ALARMS = "mlops-xgboost-production-new-variant-5xx, mlops-xgboost-production-new-variant-p99-latency"


@pytest.fixture
def scripted(release_home: Path, local_slack: LocalSlack, close_later: Closer) -> Iterator[Harness]:
    with harness_with(release_home, local_slack, close_later, platform=ScriptedPlatform(release_home)) as h:
        yield h


def platform_of(h: Harness) -> ScriptedPlatform:
    platform = h.services.platform
    assert isinstance(platform, ScriptedPlatform)
    return platform


def validated_v2(h: Harness) -> None:
    h.command("approve v2 looks good", "UBOB")
    h.wait_responses(1)
    h.settle()
    validation = h.services.release.view(2).validation
    assert validation is not None and validation.passed


def test_a_promote_with_a_rollout_asks_with_that_policy_and_confirms_it(scripted: Harness) -> None:
    validated_v2(scripted)
    scripted.command("promote v2 canary 5% 10m bake 2m", "UROSE")
    asked = scripted.wait_responses(2)[-1]
    text = json.dumps(asked["blocks"])
    assert "Rollout (chosen for this promote): canary 5% for 10m, then bake 2m; guarded by alarms" in text
    assert ALARMS in text
    value = buttons(asked["blocks"])["promote_confirm"]
    assert json.loads(value) == {"v": 2, "from": 1, "ro": "canary 5% 10m bake 2m"}
    assert scripted.services.release.serving("production") == 1  # nothing until confirmed
    scripted.click("promote_confirm", value, "UROSE")
    done = scripted.wait_responses(3)[-1]["text"]
    assert "Promoted v2 to production (was v1)" in done
    environment, version, rollout = platform_of(scripted).deploys[-1]
    assert (environment, version) == ("production", 2)
    assert rollout is not None and rollout.describe() == "canary 5% 10m bake 2m"
    entry = scripted.services.release.audit(10)
    promoted = next(e for e in entry if e.action.value == "promote" and e.outcome.value == "done")
    assert promoted.detail.endswith("(rollout override: canary 5% 10m bake 2m)")


def test_a_plain_promote_names_the_configured_policy(scripted: Harness) -> None:
    validated_v2(scripted)
    scripted.command("promote v2", "UROSE")
    asked = scripted.wait_responses(2)[-1]
    assert "Rollout: all at once; guarded by alarms" in json.dumps(asked["blocks"])
    assert json.loads(buttons(asked["blocks"])["promote_confirm"]) == {"v": 2, "from": 1}


def test_a_rollout_and_a_break_glass_reason_go_together(scripted: Harness) -> None:
    validated_v2(scripted)
    scripted.command('freeze production 4h "quarter close"', "UCAROL")
    scripted.wait_responses(2)
    scripted.command('promote v2 linear 20% 2m break-glass "hotfix INC-42"', "UDAVE")
    asked = scripted.wait_responses(3)[-1]
    assert "linear 20% every 2m (20% → 40% → 60% → 80% → 100%)" in json.dumps(
        asked["blocks"], ensure_ascii=False
    )
    value = json.loads(buttons(asked["blocks"])["promote_confirm"])
    assert value["ro"] == "linear 20% 2m bake 0s" and value["bg"] == "hotfix INC-42"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("promote v2 canary 80% 5m", "a canary is 1% to 50% of capacity, not 80%"),
        ("promote v2 canary 10%", "canary needs a size and a wait"),
        ("promote v2 blue-green", "unknown rollout 'blue-green'"),
        ("promote v2 linear 20% 2m bake", "'bake' takes one duration at the end"),
        ("promote v2 staging", "`promote` always targets production."),
    ],
)
def test_a_bad_rollout_says_what_is_wrong_and_changes_nothing(
    scripted: Harness, text: str, problem: str
) -> None:
    before = scripted.state()
    audit = scripted.services.release.audit(50)
    body = scripted.command(text, "UROSE").body
    assert problem in body and "Usage:" in body and "/mlops promote vN [&lt;rollout&gt;]" in body
    if "always targets" not in problem:
        assert "a rollout is 'all-at-once', 'canary &lt;1-50&gt;% &lt;wait&gt;'" in body
    scripted.idle()
    assert scripted.respond_count() == 0 and scripted.state() == before
    assert scripted.services.release.audit(50) == audit
    assert platform_of(scripted).deploys == []


def test_rollout_stop_and_finish_by_command(scripted: Harness) -> None:
    platform = platform_of(scripted)
    scripted.command("rollout stop production", "UDAVE")
    assert "No rollout is running on production" in scripted.wait_responses(1)[-1]["text"]
    platform.current = progress("shifting", 10)
    scripted.command("rollout stop production", "UDAVE")
    assert "Stopped the rollout of v2: all traffic is back on v1." in scripted.wait_responses(2)[-1]["text"]
    platform.current = progress("baking", 100)
    scripted.command("rollout finish production", "UROSE")
    assert "Finished the rollout of v2" in scripted.wait_responses(3)[-1]["text"]
    assert platform.cut_short == [("stop", "dave"), ("finish", "rose")]
    actions = [(e.action.value, e.outcome.value) for e in scripted.services.release.audit(3)]
    assert actions == [("finish-rollout", "done"), ("stop-rollout", "done"), ("stop-rollout", "refused")]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("rollout pause production", "`pause` is not what to do with the rollout: `stop` or `finish`."),
        ("rollout", "Say what to do with the rollout"),
        ("rollout stop prod", "`prod` is not an environment"),
        ("rollout finish", "`finish-rollout` needs more arguments."),
    ],
)
def test_bad_rollout_commands_are_usage_errors(scripted: Harness, text: str, problem: str) -> None:
    platform_of(scripted).current = progress("shifting", 10)
    body = scripted.command(text, "UCAROL").body
    assert problem in body and "Usage:" in body
    scripted.idle()
    assert platform_of(scripted).cut_short == [] and scripted.respond_count() == 0


def test_help_shows_the_rollout_commands_to_releasers_and_oncall_only(scripted: Harness) -> None:
    dave = scripted.command("help", "UDAVE").body
    assert "/mlops rollout stop staging|production" in dave and "/mlops rollout finish" in dave
    alice = scripted.command("help", "UALICE").body
    assert "/mlops rollout" not in alice and "stop-rollout" in alice  # named among the hidden ones


def test_rollback_confirmation_names_its_path_and_the_card_shows_the_warm_standby(scripted: Harness) -> None:
    validated_v2(scripted)
    assert scripted.services.release.promote(CAROL, 2).ok
    platform = platform_of(scripted)
    scripted.command("rollback production", "UDAVE")
    cold = json.dumps(scripted.wait_responses(2)[-1]["blocks"])
    assert "Redeploys v1 (loads v1 again on the endpoint host)." in cold
    platform.path = RollbackPath(1, warm=True, detail="weights only <fast>")
    platform.warm = WarmStandby("production", 1, START + timedelta(minutes=30), "1 × ml.m5.large & co")
    scripted.command("rollback production", "UDAVE")
    warm = json.dumps(scripted.wait_responses(3)[-1]["blocks"])
    assert ":zap: Shifts traffic back to the warm v1 at once (weights only &lt;fast&gt;)." in warm
    scripted.command("status v2", "UERIN")
    card = json.dumps(scripted.wait_responses(4)[-1]["blocks"], ensure_ascii=False)
    assert ":fire: v1 stays warm at 0 % until" in card and "(cost: 1 × ml.m5.large &amp; co)" in card
    scripted.command("status v1", "UERIN")  # only the card of what production serves says so
    assert "stays warm" not in json.dumps(scripted.wait_responses(5)[-1]["blocks"])
