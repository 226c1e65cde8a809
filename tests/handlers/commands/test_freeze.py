"""Change freezes through the Slack app (signed requests on the local platform): freeze, refusal by
command and button in the same words, unfreeze, rollback under a freeze, break-glass."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.core.models import Action, AuditFilter, Outcome
from runtimes.slack_local import LocalSlack
from tests.conftest import Closer
from tests.handlers.commands.test_commands import buttons
from tests.handlers.conftest import Harness, harness_with


@pytest.fixture
def glass(release_home: Path, local_slack: LocalSlack, close_later: Closer) -> Iterator[Harness]:
    """The harness, with the releasers' user group id configured (for the break-glass mention)."""
    with harness_with(release_home, local_slack, close_later, mlops_releasers_group_id="S0RELEASE") as h:
        yield h


def validated_v2(h: Harness) -> None:
    h.command("approve v2 looks good", "UBOB")
    h.wait_responses(1)
    h.settle()
    assert h.services.release.view(2).validation is not None


def test_freeze_refuses_typed_and_clicked_promote_alike_until_unfrozen(harness: Harness) -> None:
    validated_v2(harness)
    harness.command('freeze production 4h "quarter close"', "UCAROL")
    assert "Froze production until" in harness.wait_responses(2)[-1]["text"]
    notice = harness.slack.wait_for(
        lambda: [m for m in harness.slack.top_level() if "Froze production" in m.text]
    )
    assert "quarter close" in notice[0].text and "<@UCAROL>" in notice[0].text
    before = harness.state()
    harness.command("promote v2", "UROSE")
    typed = harness.wait_responses(3)[-1]["text"]
    assert "Cannot promote v2: production is frozen until" in typed and 'by carol: "quarter close"' in typed
    harness.click("release_promote", '{"v":2}', "UROSE")
    clicked = harness.wait_responses(4)[-1]["text"]
    assert clicked == typed  # the same words, from the core
    assert harness.state() == before and harness.services.release.serving("production") == 1
    harness.command("unfreeze production", "UDAVE")  # oncall may lift it
    assert "Unfroze production" in harness.wait_responses(5)[-1]["text"]
    harness.command("promote v2", "UROSE")
    assert set(buttons(harness.wait_responses(6)[-1]["blocks"])) == {"promote_confirm", "promote_cancel"}


def test_bad_freeze_commands_are_usage_errors_that_change_nothing(harness: Harness) -> None:
    for text, problem in [
        ("freeze production 4h", "`freeze` needs a reason."),
        ('freeze production forever "x"', "'forever' is not a duration"),
        ('freeze prod 4h "x"', "`prod` is not an environment"),
        ("unfreeze", "`unfreeze` needs an environment."),
        ("promote v2 break-glass", "Break-glass needs a reason."),
    ]:
        body = json.loads(harness.command(text, "UCAROL").body)
        assert body["response_type"] == "ephemeral" and problem in body["text"], text
    harness.command('freeze production 2h "x"', "UERIN")
    assert harness.services.release.frozen("production") is None


def test_rollback_is_never_frozen(harness: Harness) -> None:
    validated_v2(harness)
    harness.command("promote v2", "UROSE")
    harness.click(
        "promote_confirm", buttons(harness.wait_responses(2)[-1]["blocks"])["promote_confirm"], "UROSE"
    )
    assert "Promoted v2" in harness.wait_responses(3)[-1]["text"]
    harness.command('freeze production 4h "quarter close"', "UCAROL")
    harness.wait_responses(4)
    harness.command("rollback production", "UDAVE")
    ask = harness.wait_responses(5)[-1]
    harness.click("rollback_confirm", buttons(ask["blocks"])["rollback_confirm"], "UDAVE")
    assert "Rolled back production to v1 (was v2)" in harness.wait_responses(6)[-1]["text"]
    assert harness.services.release.serving("production") == 1
    assert harness.services.release.frozen("production") is not None


def test_break_glass_by_oncall_confirms_announces_and_flags_the_audit(glass: Harness) -> None:
    h = glass
    validated_v2(h)
    h.command('freeze production 4h "quarter close"', "UROSE")
    h.wait_responses(2)
    # rose releases but is not oncall
    h.command('promote v2 break-glass "hotfix INC-42"', "UROSE")
    refused = h.wait_responses(3)[-1]["text"]
    assert "Only *oncall* can break glass: production is frozen" in refused and "Nothing changed." in refused
    before = h.state()
    h.command('promote v2 break-glass "hotfix INC-42"', "UCAROL")
    ask = h.wait_responses(4)[-1]
    shown = json.dumps(ask["blocks"])
    assert "Break-glass" in shown and "quarter close" in shown and "hotfix INC-42" in shown
    values = buttons(ask["blocks"])
    assert json.loads(values["promote_confirm"])["bg"] == "hotfix INC-42"
    assert h.state() == before  # asking changed nothing
    # the confirm checks again: rose clicking carol's confirmation is refused
    h.click("promote_confirm", values["promote_confirm"], "UROSE")
    assert "Only *oncall* can break glass" in h.wait_responses(5)[-1]["text"]
    assert h.services.release.serving("production") == 1
    h.click("promote_confirm", values["promote_confirm"], "UCAROL")
    done = h.wait_responses(6)[-1]["text"]
    assert "Promoted v2 to production (was v1). Break-glass:" in done and "hotfix INC-42" in done
    assert h.services.release.serving("production") == 2
    h.settle()
    (notice,) = [m for m in h.slack.top_level() if "Break-glass" in m.text]
    assert notice.text.startswith(":rotating_light: <!subteam^S0RELEASE> *Break-glass* by <@UCAROL>")
    (entry,) = h.services.release.audit(1, AuditFilter(action=Action.PROMOTE))
    assert entry.break_glass and entry.outcome is Outcome.DONE
    h.command("audit 3 promote", "UERIN")
    assert ":rotating_light: *break-glass*" in json.dumps(h.wait_responses(7)[-1]["blocks"])


def test_a_staging_freeze_holds_the_approval_deploy_and_the_card_says_why(harness: Harness) -> None:
    harness.command('freeze staging 2h "load test"', "UCAROL")
    harness.wait_responses(1)
    harness.command("approve v2 fine", "UBOB")
    assert "Approved v2" in harness.wait_responses(2)[-1]["text"]
    harness.settle()
    assert harness.services.release.serving("staging") == 1
    card = next(m for m in harness.slack.top_level() if m.text.startswith("Model v2"))
    thread = harness.slack.wait_for(
        lambda: [m for m in harness.slack.thread(card.ts) if "staging is frozen" in m.text]
    )
    assert "Cannot deploy v2" in thread[0].text and "`/mlops deploy v2 staging`" in thread[0].text
    harness.command("deploy v2 staging", "UROSE")
    assert "Cannot deploy v2: staging is frozen" in harness.wait_responses(3)[-1]["text"]


def test_oncall_alone_breaks_glass_but_cannot_promote_without_a_freeze(glass: Harness) -> None:
    h = glass
    validated_v2(h)

    def answer(command: str | None = None, click: str | None = None) -> dict[str, Any]:
        count = len(h.slack.responses())
        if command is not None:
            h.command(command, "UDAVE")
        else:
            assert click is not None
            h.click("promote_confirm", click, "UDAVE")
        return h.wait_responses(count + 1)[-1]

    # dave is oncall and nothing else: a plain promote is the releasers' (refused in the ack)
    assert "You need the *releaser* role to promote" in h.command("promote v2", "UDAVE").body
    # and break-glass is no way around that while nothing is frozen
    unfrozen = answer('promote v2 break-glass "hotfix INC-43"')["text"]
    assert "Nothing is frozen in production: break-glass is for a freeze" in unfrozen
    assert h.services.release.serving("production") == 1
    count = len(h.slack.responses())
    h.command('freeze production 4h "quarter close"', "UROSE")
    h.wait_responses(count + 1)
    values = buttons(answer('promote v2 break-glass "hotfix INC-43"')["blocks"])
    assert (
        "Promoted v2 to production (was v1). Break-glass:" in answer(click=values["promote_confirm"])["text"]
    )
    assert h.services.release.serving("production") == 2
    (entry,) = h.services.release.audit(1, AuditFilter(action=Action.PROMOTE))
    assert entry.actor_id == "UDAVE" and entry.break_glass
