"""Slack mrkdwn and text objects as terminal text: styles, mentions, links, emoji and entities."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from runtimes.terminal.style import Style

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


def _span(mark: str) -> re.Pattern[str]:
    """``*bold*``, ``_italic_`` or ``~strike~``: the mark hugs non-space text and stands outside words."""
    m = re.escape(mark)
    return re.compile(rf"(?<![\w{m}]){m}(?=\S)([^{m}\n]*?\S){m}(?![\w{m}])")


_BOLD, _ITALIC, _STRIKE = _span("*"), _span("_"), _span("~")
_CODE = re.compile(r"`([^`\n]+)`")


def _restyle(text: str, span: re.Pattern[str], paint: Callable[[str], str]) -> str:
    return span.sub(lambda m: paint(m.group(1)), text)


def unescape(text: str) -> str:
    """Slack's three entities decoded, and only those (Slack shows any other entity as typed)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def emojize(text: str) -> str:
    return _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)


def mrkdwn(text: str, style: Style, names: Mapping[str, str] | None = None) -> str:
    """Slack mrkdwn as terminal text: styles, mentions, links, emoji and entities resolved."""
    names = names or {}
    spans: list[str] = []

    def stash(rendered: str) -> str:  # code spans are literal: keep them away from other rules
        spans.append(rendered)
        return f"\x00{len(spans) - 1}\x00"

    out = text.replace("```", "")
    out = _CODE.sub(lambda m: stash(style.code(unescape(m.group(1)))), out)

    def link(m: re.Match[str]) -> str:
        target, label = m.group(1), m.group(2)
        if target.startswith("@"):
            uid = target[1:]
            return "@" + (label or names.get(uid, uid))
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            return "@" + (label or target[1:].split("^")[0])
        return f"{label} ({target})" if label and label != target else target

    out = _LINK.sub(link, out)
    for span, paint in ((_BOLD, style.bold), (_ITALIC, style.italic), (_STRIKE, style.strike)):
        out = _restyle(out, span, paint)
    out = emojize(unescape(out))
    return re.sub("\x00(\\d+)\x00", lambda m: spans[int(m.group(1))], out)


def text_object(obj: Any, style: Style, names: Mapping[str, str] | None = None) -> str:
    if not isinstance(obj, dict):
        return ""
    text = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":
        return mrkdwn(text, style, names)
    return emojize(unescape(text))


__all__ = ["EMOJI", "emojize", "mrkdwn", "text_object", "unescape"]
