"""Slack mrkdwn and text objects as rich Text."""

from __future__ import annotations

from runtimes.terminal import BlockRenderer, mrkdwn
from tests.runtimes.terminal.cards import plain


def test_mrkdwn_resolves_styles_mentions_links_and_emoji() -> None:
    text = "*Approved* by <@UBOB> :white_check_mark: see <https://x.test/r|the run> `a*b*c` &lt;ok&gt;"
    out = mrkdwn(text, {"UBOB": "bob"})
    assert out.plain == "Approved by @bob ✅ see the run (https://x.test/r) `a*b*c` <ok>"
    styles = {out.plain[s.start : s.end]: str(s.style) for s in out.spans}
    assert styles["Approved"] == "bold"
    assert styles["`a*b*c`"] == "cyan"  # a code span is literal: its stars stay
    assert "link https://x.test/r" in styles["the run"]
    nested = mrkdwn("_it_ ~gone~ *_both_*")
    assert nested.plain == "it gone both"
    assert {(nested.plain[s.start : s.end], str(s.style)) for s in nested.spans} == {
        ("it", "italic"),
        ("gone", "strike"),
        ("both", "bold"),
        ("both", "italic"),
    }


def test_rich_markup_in_slack_text_is_shown_as_typed() -> None:
    out = mrkdwn("[bold]not a tag[/bold] and [link=x]")
    assert out.plain == "[bold]not a tag[/bold] and [link=x]"
    assert out.spans == []


def test_escaped_text_shows_as_typed_in_mrkdwn_and_plain_text() -> None:
    # Slack decodes its three entities in every text object, and no other entity.
    assert mrkdwn("R&amp;D &lt;!channel&gt; &amp;lt; &copy;").plain == "R&D <!channel> &lt; &copy;"
    header = {"type": "header", "text": {"type": "plain_text", "text": "Alarm: A &amp; B &lt;x&gt;"}}
    assert plain(BlockRenderer({}, width=100).render([header])) == "Alarm: A & B <x>"


def test_links_the_bot_builds_print_their_label_and_decoded_address() -> None:
    # As handlers.render.common.link writes them: the address and label entity-escaped, "|" in labels as "¦".
    console = (
        "<https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1&amp;x=1"
        "#logsV2:log-groups/log-group/$252Faws$252Fsagemaker$252FEndpoints$252Fp|staging endpoint logs>"
    )
    out = mrkdwn(f"*Links* {console} · <https://github.com/o/r/actions/runs/42|CI run &amp; checks>")
    assert out.plain == (
        "Links staging endpoint logs (https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1"
        "&x=1#logsV2:log-groups/log-group/$252Faws$252Fsagemaker$252FEndpoints$252Fp)"
        " · CI run & checks (https://github.com/o/r/actions/runs/42)"
    )
    ci = next(s for s in out.spans if out.plain[s.start : s.end] == "CI run & checks")
    assert "link https://github.com/o/r/actions/runs/42" in str(ci.style)


def test_a_relative_log_path_prints_as_code() -> None:
    assert mrkdwn("*Logs* `logs/runs/abc123.log`").plain == "Logs `logs/runs/abc123.log`"
