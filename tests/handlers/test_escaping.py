"""The one escaping rule: Slack's three characters, applied once, never cut in half; and a failed
check never wears a success emoji."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given

from bot.core.models import Action, Actor, ApprovalStatus, AuditEntry, Outcome, Result, Role, VersionView
from bot.core.service import StatusView
from bot.ingest.github import WorkflowRun
from bot.notify.deadletter import notice_text
from bot.slack_text import escape
from handlers.commands.parse import UsageError, parse_command
from handlers.events import render as events
from handlers.render.audit import render_audit
from handlers.render.common import clip, code, link, mention, quote, result_text
from handlers.render.help import render_help
from handlers.render.help import render_usage_error as usage
from handlers.render.status import render_status
from ml.platform import ModelPackage
from tests.handlers.escaping import (
    EXAMPLES,
    T0,
    alarm_change,
    assert_safe,
    outside,
    payload,
    problems,
    unescape,
)

# -- the rule itself ---------------------------------------------------------------------------------


def test_there_is_one_escaping_rule() -> None:
    # Any other spelling of the rule could drift from it: every module imports bot.slack_text.escape.
    root = Path(__file__).resolve().parents[2]
    spelled = [
        path.relative_to(root).as_posix()
        for package in ("bot", "handlers", "ml", "runtimes")
        for path in (root / package).rglob("*.py")
        if '"&", "&amp;"' in path.read_text(encoding="utf-8")
    ]
    assert spelled == ["bot/slack_text.py"]


@EXAMPLES
@given(error=outside)
def test_the_dead_letter_notice_is_escaped(error: str) -> None:
    assert_safe({"text": notice_text(error)})


def test_escape_is_slacks_rule_and_nothing_more() -> None:
    assert escape("a & b < c > d") == "a &amp; b &lt; c &gt; d"
    assert escape("<!channel> <@U123> <#C1>") == "&lt;!channel&gt; &lt;@U123&gt; &lt;#C1&gt;"
    assert escape("quote \" ' é *x* _y_") == "quote \" ' é *x* _y_"  # only Slack's three characters


def test_text_that_looks_escaped_is_escaped_once_and_shows_as_typed() -> None:
    # "&amp;" typed by someone must show as "&amp;"; the bot's own "&amp;" must not become "&amp;amp;".
    assert escape("&amp;") == "&amp;amp;" and unescape(escape("&amp;")) == "&amp;"
    alarm = alarm_change("e1", "R&D <latency>", "ALARM", "OK", "p95 > 300ms & rising", T0)
    message = events.alarm_alert(alarm, 2)
    dumped = json.dumps(payload(message), ensure_ascii=False)
    assert "R&amp;D &lt;latency&gt;" in message.text
    assert "p95 &gt; 300ms &amp; rising" in message.text
    assert "&amp;amp;" not in dumped and "&amp;lt;" not in dumped and "&amp;gt;" not in dumped
    _, blocks = render_status(
        StatusView((), (VersionView(_package(), None, None, ("staging", "production"), None, None),), ())
    )
    assert "serves staging and production" in json.dumps(blocks)


def test_every_outside_value_round_trips_to_what_was_typed() -> None:
    typed = 'R&D <!channel> said "ok" > 3 &lt;'
    run = WorkflowRun("acme/m", 1, 1, "completed", typed, "completed", "failure", "https://github.com/r", 7)
    message = events.workflow_run(run)
    assert f"{typed} #7" in unescape(message.text)
    assert f"{typed} #7" in unescape(json.dumps(message.blocks, ensure_ascii=False).replace('\\"', '"'))


def test_usage_shows_placeholders_escaped() -> None:
    with pytest.raises(UsageError) as caught:
        parse_command("reject v3")
    text, blocks = usage(caught.value)
    assert "&lt;why it is rejected&gt;" in text and "<why" not in text
    assert "&lt;why it is rejected&gt;" in json.dumps(blocks)
    assert "`/mlops reject vN &lt;reason&gt;`" in text


def test_help_shows_placeholders_escaped() -> None:
    text, blocks = render_help(list(Action), frozenset(Role), None)
    dumped = json.dumps(blocks)
    assert "/mlops stop &lt;execution-id&gt;" in dumped and "<execution-id>" not in dumped
    assert_safe({"text": text, "blocks": blocks})


def test_cut_text_never_leaves_half_an_entity_or_half_a_token() -> None:
    markup = escape("a" * 8 + "&" * 10)  # "aaaaaaaa&amp;&amp;…"
    for limit in range(1, len(markup)):
        cut = clip(markup, limit)
        assert len(cut) <= limit and not problems({"text": cut}), (limit, cut)
    linked = "see " + link("https://github.com/x?a=1&b=2", "run <1>")
    for limit in range(1, len(linked)):
        assert not problems({"text": clip(linked, limit)}), clip(linked, limit)
    assert code("x" * 50 + "&", 52).count("&") == 0  # the entity did not fit: it is dropped whole


def test_links_mentions_and_quotes_stay_the_bots_own() -> None:
    assert link("https://github.com/a?x=1&y=<2>|3 4", "a|b <c>") == (
        "<https://github.com/a?x=1&amp;y=%3C2%3E%7C3%204|a¦b &lt;c&gt;>"
    )
    assert link("javascript:alert(1)", "<b>") == "&lt;b&gt;"
    assert mention("UALICE") == "<@UALICE>"
    assert mention("<!channel>", "<!here>") == "&lt;!here&gt;"
    assert quote("one\n> two\n<!channel>") == ">one\n>&gt; two\n>&lt;!channel&gt;"


# -- a failed check never wears a success emoji ---------------------------------------------------------


def _package() -> ModelPackage:
    return ModelPackage(3, "arn:3", "mlops-xgboost", ApprovalStatus.APPROVED, T0, None, {"accuracy": 0.7})


def test_failed_validation_is_announced_with_a_cross() -> None:
    actor = Actor("UCAROL", "carol")
    failed = Result(
        Action.VALIDATE,
        Outcome.DONE,
        "Staging validation of v3 FAILED: accuracy 0.700.",
        actor,
        3,
        "staging",
        {"passed": False},
    )
    passed = Result(
        Action.VALIDATE,
        Outcome.DONE,
        "Staging validation of v3 passed.",
        actor,
        3,
        "staging",
        {"passed": True},
    )
    assert result_text(failed).startswith(":x: ") and ":white_check_mark:" not in result_text(failed)
    assert result_text(passed).startswith(":white_check_mark: ")
    entry = AuditEntry(T0, "UCAROL", "carol", Action.VALIDATE, Outcome.DONE, "v3@staging", failed.message)
    _, blocks = render_audit([entry])
    assert ":white_check_mark:" not in json.dumps(blocks)
