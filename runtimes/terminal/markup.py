"""Slack mrkdwn and text objects as rich ``Text``: styles, mentions, links, emoji and entities."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rich.markup import escape
from rich.style import Style
from rich.text import Text

EMOJI: Mapping[str, str] = {
    "white_check_mark": "✅",
    "heavy_check_mark": "✔️",
    "x": "❌",
    "no_entry": "⛔",
    "no_entry_sign": "🚫",
    "warning": "⚠️",
    "information_source": "ℹ️",
    "hourglass_flowing_sand": "⏳",
    "hourglass": "⌛",
    "rocket": "🚀",
    "arrows_counterclockwise": "🔄",
    "rewind": "⏪",
    "leftwards_arrow_with_hook": "↩️",
    "large_green_circle": "🟢",
    "large_yellow_circle": "🟡",
    "red_circle": "🔴",
    "rotating_light": "🚨",
    "no_bell": "🔕",
    "snowflake": "❄️",
    "sunny": "☀️",
    "white_circle": "⚪",
    "black_circle": "⚫",
    "large_blue_circle": "🔵",
    "stopwatch": "⏱️",
    "test_tube": "🧪",
    "package": "📦",
    "memo": "📝",
    "bar_chart": "📊",
    "chart_with_upwards_trend": "📈",
    "lock": "🔒",
    "bust_in_silhouette": "👤",
    "robot_face": "🤖",
    "gear": "⚙️",
    "construction": "🚧",
    "stop_sign": "🛑",
    "tada": "🎉",
    "eyes": "👀",
    "mag": "🔍",
    "clipboard": "📋",
    "scroll": "📜",
    "arrow_right": "➡️",
    "fast_forward": "⏩",
    "repeat": "🔁",
    "zzz": "💤",
    "bulb": "💡",
    "question": "❓",
    "heavy_minus_sign": "➖",
    "small_orange_diamond": "🔸",
    "small_blue_diamond": "🔹",
}

_EMOJI = re.compile(r":([a-z0-9_+\-]+):")
_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
_STASHED = re.compile("\x00(\\d+)\x00")


def _span(mark: str) -> re.Pattern[str]:
    """``*bold*``, ``_italic_`` or ``~strike~``: the mark hugs non-space text and stands outside words."""
    m = re.escape(mark)
    return re.compile(rf"(?<![\w{m}]){m}(?=\S)([^{m}\n]*?\S){m}(?![\w{m}])")


_SPANS = ((_span("*"), "bold"), (_span("_"), "italic"), (_span("~"), "strike"))
_CODE = re.compile(r"`([^`\n]+)`")


def unescape(text: str) -> str:
    """Slack's three entities decoded, and only those (Slack shows any other entity as typed)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def emojize(text: str) -> str:
    return _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)


def _link(target: str, label: str | None, names: Mapping[str, str]) -> Text:
    # Inside a link token Slack decodes its entities too: show the address and label as Slack would.
    target, label = unescape(target), unescape(label) if label is not None else None
    if target.startswith("@"):
        uid = target[1:]
        return Text("@" + (label or names.get(uid, uid)), style="bold")
    if target.startswith("#"):
        return Text("#" + (label or target[1:]), style="bold")
    if target.startswith("!"):
        return Text("@" + (label or target[1:].split("^", maxsplit=1)[0]), style="bold")
    if label and label != target:  # the address stays readable where links cannot be clicked
        return Text.assemble((label, Style(underline=True, link=target)), f" ({target})")
    return Text(target, style=Style(underline=True, link=target))


def mrkdwn(text: str, names: Mapping[str, str] | None = None) -> Text:
    """Slack mrkdwn as rich Text: styles, mentions, links, emoji and entities resolved.

    Code spans and links are set aside first (their text is literal), the rest becomes
    rich markup with Slack's bold, italic and strike marks turned into tags.
    """
    names = names or {}
    kept: list[Text] = []

    def keep(piece: Text) -> str:
        kept.append(piece)
        return f"\x00{len(kept) - 1}\x00"

    out = text.replace("```", "")
    out = _CODE.sub(lambda m: keep(Text(f"`{unescape(m.group(1))}`", style="cyan")), out)
    out = _LINK.sub(lambda m: keep(_link(m.group(1), m.group(2), names)), out)
    out = escape(emojize(unescape(out)))
    for span, style in _SPANS:
        out = span.sub(rf"[{style}]\1[/{style}]", out)
    styled = Text.from_markup(out, emoji=False)
    result, pos = Text(), 0
    for m in _STASHED.finditer(styled.plain):
        result.append_text(styled[pos : m.start()])
        result.append_text(kept[int(m.group(1))])
        pos = m.end()
    result.append_text(styled[pos:])
    return result


def text_object(obj: Any, names: Mapping[str, str] | None = None) -> Text:
    """A Block Kit text object (``plain_text`` or ``mrkdwn``) as rich Text; empty for anything else."""
    if not isinstance(obj, dict):
        return Text()
    text = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":
        return mrkdwn(text, names)
    return Text(emojize(unescape(text)))


__all__ = ["EMOJI", "emojize", "mrkdwn", "text_object", "unescape"]
