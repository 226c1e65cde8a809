"""Slack mrkdwn and text objects as terminal text."""

from __future__ import annotations

from runtimes.terminal import BlockRenderer, Style, mrkdwn

PLAIN = Style(False)


def test_mrkdwn_resolves_styles_mentions_links_and_emoji() -> None:
    text = "*Approved* by <@UBOB> :white_check_mark: see <https://x.test/r|the run> `a*b*c` &lt;ok&gt;"
    out = mrkdwn(text, PLAIN, {"UBOB": "bob"})
    assert out == "Approved by @bob ✅ see the run (https://x.test/r) `a*b*c` <ok>"
    colored = mrkdwn("*bold* _it_", Style(True))
    assert "\x1b[1mbold\x1b[0m" in colored and "\x1b[3mit\x1b[0m" in colored


def test_escaped_text_shows_as_typed_in_mrkdwn_and_plain_text() -> None:
    # Slack decodes its three entities in every text object, and no other entity.
    assert mrkdwn("R&amp;D &lt;!channel&gt; &amp;lt; &copy;", PLAIN) == "R&D <!channel> &lt; &copy;"
    header = {"type": "header", "text": {"type": "plain_text", "text": "Alarm: A &amp; B &lt;x&gt;"}}
    assert BlockRenderer(PLAIN, {}, width=100).render([header]) == ["Alarm: A & B <x>"]
