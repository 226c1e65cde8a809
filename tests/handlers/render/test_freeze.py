"""Freeze renderers: outside text (reasons, names) never acts as Slack markup; the flags and mentions."""

from __future__ import annotations

from hypothesis import given

from bot.core.models import Action, Actor, AuditEntry, Outcome, Result
from bot.core.service import PromotePlan
from handlers.render.common import decode_value
from handlers.render.freeze import (
    audit_mark,
    freeze_notice,
    frozen_deploy_note,
    releasers_mention,
    render_break_glass_confirmation,
)
from tests.handlers.escaping import EXAMPLES, T0, assert_safe, named, outside, payload, unescape, users

SYSTEM = Actor("mlops-bot", "mlops-bot", system=True)


@EXAMPLES
@given(freeze=outside, reason=named)
def test_the_break_glass_confirmation_escapes_the_freeze_and_the_reason(freeze: str, reason: str) -> None:
    message = render_break_glass_confirmation(PromotePlan(3, 2, "prod-endpoint", freeze, reason))
    assert_safe(payload(message))
    assert reason in unescape(message[1][0]["text"]["text"])
    value = decode_value(message[1][1]["elements"][0]["value"])
    assert value == {"v": 3, "from": 2, "bg": reason}  # the reason comes back whole at the Confirm


@EXAMPLES
@given(user=users, name=outside, reason=named, freeze=outside)
def test_channel_notices_escape_outside_text(user: str, name: str, reason: str, freeze: str) -> None:
    actor = Actor(user, name)
    froze = Result(Action.FREEZE, Outcome.DONE, f"Froze production: {reason}.", actor, None, "production")
    text = freeze_notice(froze, releasers_mention("", [name]))
    assert text is not None and text.startswith(":snowflake:")
    assert_safe({"text": text})
    data = {"break_glass": reason, "freeze": freeze}
    glass = Result(Action.PROMOTE, Outcome.DONE, "Promoted v3.", actor, 3, "production", data)
    text = freeze_notice(glass, releasers_mention("", [name]))
    assert text is not None and "*Break-glass*" in text
    assert_safe({"text": text})
    held = Result(Action.DEPLOY, Outcome.REFUSED, reason, SYSTEM, 3, "staging", {"frozen": freeze})
    note = frozen_deploy_note(held)
    assert note is not None and "`/mlops deploy v3 staging`" in note
    assert_safe({"text": note})


def test_only_done_freeze_results_and_flagged_switches_make_notices() -> None:
    carol = Actor("UCAROL", "carol")
    refused = Result(Action.FREEZE, Outcome.REFUSED, "no", carol, None, "production")
    plain = Result(Action.PROMOTE, Outcome.DONE, "Promoted v3.", carol, 3, "production")
    assert freeze_notice(refused, "@ml-leads") is None and freeze_notice(plain, "@ml-leads") is None
    by_person = Result(Action.DEPLOY, Outcome.REFUSED, "x", carol, 3, "staging", {"frozen": "f"})
    assert frozen_deploy_note(by_person) is None  # the person who asked got the refusal already


def test_the_releasers_mention_and_the_audit_flag() -> None:
    assert releasers_mention("S0123ABCD", ["ml-leads"]) == "<!subteam^S0123ABCD>"
    assert releasers_mention("not-an-id", ["ml-leads"]) == "@ml-leads"
    assert releasers_mention("", []) == "the releasers"
    entry = AuditEntry(T0, "UCAROL", "carol", Action.PROMOTE, Outcome.DONE, "v3->production")
    assert audit_mark(entry) == ""
    flagged = AuditEntry(
        T0, "UCAROL", "carol", Action.PROMOTE, Outcome.DONE, "v3->production", break_glass=True
    )
    assert audit_mark(flagged) == ":rotating_light: *break-glass* "
