"""The terminal chat: ``mlops-bot shell`` drives the Slack app exactly as Slack would.

Each typed line becomes a signed Slack request (slash command, ``block_actions``,
``view_submission``) dispatched into the same Bolt app the HTTP, Socket Mode and
Lambda runtimes serve, with the local ML platform behind it. The app answers through
a real Slack Web API client pointed at :class:`runtimes.slack_local.LocalSlack`, whose
transcript is rendered here as it changes: new messages, in-place updates, thread
replies, ephemeral answers and modals.

With stdin not a terminal the lines run as a script: each is echoed after a prompt,
background work settles before the next one, and the exit code is 0 unless a line
could not be run (unknown ``:`` command, unknown user, no such button, ...).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ParamSpec, TypeVar, cast
from urllib.parse import urlencode

from pydantic import SecretStr

from bot.settings import ConfigError, Settings, load_settings
from bot.users import LocalUser, load_users, roles_for
from runtimes.slack_local import BOT_USER_ID, TEAM_ID, LocalSlack, Message, SlackEvent, View

if TYPE_CHECKING:
    from bot.notify import Notifier, SlackPoster

log = logging.getLogger(__name__)

JSON = dict[str, Any]
P = ParamSpec("P")
T = TypeVar("T")

SLASH_COMMAND = "/mlops"
#: Longest a script line waits for background work (pipeline runs, deploys, validations).
SETTLE_TIMEOUT_SECONDS = 900.0
#: How long the transcript must stay unchanged, with nothing running, to count as settled.
QUIET_SECONDS = 0.3
#: How long a click waits for the modal its listener opens.
MODAL_WAIT_SECONDS = 5.0

HELP = f"""\
Type what you would type in Slack, or a shell command:
  {SLASH_COMMAND} <subcommand> ...   a slash command ({SLASH_COMMAND} help lists them)
  :click LABEL [vN] [text]   click the button labelled LABEL on the newest message that has it
                             (vN: on that version's card; text: fills the modal it opens)
  :click N | :click #M LABEL button number N of the newest message / a button of message #M
  :submit [key=value ...]    submit the open modal (plain text fills its first field)
  :cancel                    close the open modal without submitting
  :as NAME                   act as another user (:users lists them)
  :users                     users, their groups and roles
  :wait                      wait until background work (runs, deploys, notifications) settles
  :help                      this help
  :quit                      leave (Ctrl-D too)"""


class ShellError(Exception):
    """A line that cannot be run; the message says why and what would work."""


# -- text styling ------------------------------------------------------------------------------


class Style:
    """ANSI styling, or plain text when output is not a terminal."""

    def __init__(self, color: bool) -> None:
        self.color = color

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color and text else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def italic(self, text: str) -> str:
        return self._wrap("3", text)

    def strike(self, text: str) -> str:
        return self._wrap("9", text)

    def code(self, text: str) -> str:
        return self._wrap("36", text) if self.color else f"`{text}`"

    def red(self, text: str) -> str:
        return self._wrap("31", text)

    def green(self, text: str) -> str:
        return self._wrap("32", text)

    def yellow(self, text: str) -> str:
        return self._wrap("33", text)

    def blue(self, text: str) -> str:
        return self._wrap("34", text)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def visible_len(text: str) -> int:
    """Printed width: ANSI codes take none, wide characters (emoji, CJK) take two columns."""
    plain = _ANSI.sub("", text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 0 if ch == "\ufe0f" else 1 for ch in plain)


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - visible_len(text))


# -- Slack mrkdwn -> terminal ------------------------------------------------------------------

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
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])")
_CODE = re.compile(r"`([^`\n]+)`")


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
    out = _BOLD.sub(lambda m: style.bold(m.group(1)), out)
    out = _ITALIC.sub(lambda m: style.italic(m.group(1)), out)
    out = _STRIKE.sub(lambda m: style.strike(m.group(1)), out)
    out = emojize(unescape(out))
    return re.sub("\x00(\\d+)\x00", lambda m: spans[int(m.group(1))], out)


def text_object(obj: Any, style: Style, names: Mapping[str, str] | None = None) -> str:
    if not isinstance(obj, dict):
        return ""
    text = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":
        return mrkdwn(text, style, names)
    return emojize(unescape(text))


# -- Block Kit -> terminal ---------------------------------------------------------------------


@dataclass(frozen=True)
class Button:
    """A clickable button of a message, numbered in display order from 1."""

    number: int
    label: str
    action_id: str
    block_id: str
    value: str | None
    style: str | None
    confirm: JSON | None
    element: JSON


def buttons_of(blocks: Sequence[JSON]) -> list[Button]:
    found: list[Button] = []
    for block in blocks:
        elements: list[Any] = []
        if block.get("type") == "actions":
            elements = list(block.get("elements") or [])
        elif isinstance(block.get("accessory"), dict):
            elements = [block["accessory"]]
        for el in elements:
            if isinstance(el, dict) and el.get("type") == "button":
                found.append(
                    Button(
                        number=len(found) + 1,
                        label=str((el.get("text") or {}).get("text", "")),
                        action_id=str(el.get("action_id", "")),
                        block_id=str(block.get("block_id", "")),
                        value=el.get("value"),
                        style=el.get("style"),
                        confirm=el.get("confirm"),
                        element=el,
                    )
                )
    return found


class BlockRenderer:
    """Renders Block Kit as readable terminal lines (without indentation)."""

    def __init__(self, style: Style, names: Mapping[str, str] | None = None, width: int = 100) -> None:
        self.style = style
        self.names = dict(names or {})
        self.width = max(40, width)

    def button(self, button: Button) -> str:
        label = f"[{button.number} {emojize(button.label)}]"
        if button.style == "primary":
            return self.style.green(label)
        if button.style == "danger":
            return self.style.red(label)
        return self.style.blue(label)

    def render(self, blocks: Sequence[JSON], text: str = "") -> list[str]:
        if not blocks:
            return mrkdwn(text, self.style, self.names).splitlines() or [""]
        lines: list[str] = []
        numbered = iter(buttons_of(blocks))
        for block in blocks:
            lines += self._block(block, numbered)
        return lines

    def _text(self, obj: Any) -> str:
        return text_object(obj, self.style, self.names)

    def _block(self, block: JSON, numbered: Iterator[Button]) -> list[str]:
        kind = block.get("type")
        s = self.style
        if kind == "header":
            return [s.bold(self._text(block.get("text")))]
        if kind == "divider":
            return [s.dim("─" * min(self.width, 48))]
        if kind == "section":
            lines = self._text(block.get("text")).splitlines() if block.get("text") else []
            fields = [self._text(f).splitlines() for f in block.get("fields") or []]
            lines += self._columns(fields)
            acc = block.get("accessory")
            if isinstance(acc, dict) and acc.get("type") == "button":
                lines.append(self.button(next(numbered)))
            elif isinstance(acc, dict):
                lines.append(s.dim(f"[{acc.get('type', 'element')}]"))
            return lines
        if kind == "context":
            parts = []
            for el in block.get("elements") or []:
                if isinstance(el, dict) and el.get("type") == "image":
                    parts.append(f"[{el.get('alt_text', 'image')}]")
                else:
                    parts.append(self._text(el))
            return [s.dim(_ANSI.sub("", line)) for line in "  ·  ".join(parts).splitlines()]
        if kind == "actions":
            rendered = []
            for el in block.get("elements") or []:
                if isinstance(el, dict) and el.get("type") == "button":
                    rendered.append(self.button(next(numbered)))
                elif isinstance(el, dict):
                    placeholder = self._text(el.get("placeholder")) or el.get("type", "element")
                    rendered.append(s.dim(f"[{placeholder} ▾]"))
            return [" ".join(rendered)] if rendered else []
        if kind == "input":
            return [self._input(block)]
        if kind == "image":
            return [s.dim(f"[image: {block.get('alt_text', '')}]")]
        if kind == "rich_text":
            return _rich_text(block).splitlines() or [""]
        if kind == "markdown":
            return mrkdwn(str(block.get("text", "")), s, self.names).splitlines()
        return [s.dim(f"[{kind} block]")]

    def _input(self, block: JSON) -> str:
        label = self._text(block.get("label"))
        element = block.get("element") or {}
        required = "" if block.get("optional") else "*"
        kind = str(element.get("type", "input")).replace("_", " ")
        hint = f" — {self._text(block.get('hint'))}" if block.get("hint") else ""
        return f"{self.style.bold(label)}{required} {self.style.dim(f'({kind}){hint}')}"

    def _columns(self, fields: list[list[str]]) -> list[str]:
        """Fields two per row, like Slack lays them out; one per row when the terminal is narrow."""
        if not fields:
            return []
        col = min(max(visible_len(line) for f in fields[::2] for line in f or [""]) + 3, self.width // 2)
        lines: list[str] = []
        if self.width < 60:
            for f in fields:
                lines += f
            return lines
        for i in range(0, len(fields), 2):
            left, right = fields[i], fields[i + 1] if i + 1 < len(fields) else []
            for j in range(max(len(left), len(right))):
                a = left[j] if j < len(left) else ""
                b = right[j] if j < len(right) else ""
                lines.append((pad(a, col) + b).rstrip())
        return lines


def _rich_text(node: Any) -> str:
    if isinstance(node, dict):
        if node.get("type") == "text":
            return str(node.get("text", ""))
        if node.get("type") == "user":
            return "@" + str(node.get("user_id", ""))
        if node.get("type") == "link":
            return str(node.get("text") or node.get("url", ""))
        return "".join(_rich_text(el) for el in node.get("elements") or [])
    return ""


def summary(message: Message) -> str:
    """A short name for a message: its header, else the first line of its text."""
    for block in message.blocks:
        if block.get("type") == "header":
            return _short(emojize(str((block.get("text") or {}).get("text", ""))))
    first = message.text.strip().splitlines()[0] if message.text.strip() else "message"
    return _short(_ANSI.sub("", mrkdwn(first, Style(False))))


def _short(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- transcript printing -------------------------------------------------------------------------


class TranscriptPrinter:
    """Prints LocalSlack's transcript events as they happen, numbering messages ``#1, #2, ...``."""

    def __init__(
        self,
        slack: LocalSlack,
        out: IO[str],
        style: Style,
        *,
        viewer: Callable[[], str],
        width: int | None = None,
        before_print: Callable[[], None] | None = None,
        after_print: Callable[[], None] | None = None,
    ) -> None:
        self.slack = slack
        self.out = out
        self.style = style
        self.viewer = viewer
        names = {u.id: u.name for u in slack.users.values()} | {BOT_USER_ID: "mlops-bot"}
        self.renderer = BlockRenderer(style, names, width or _terminal_width())
        self._numbers: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self.before_print = before_print
        self.after_print = after_print

    def number(self, message: Message) -> int:
        with self._lock:
            key = (message.channel, message.ts)
            if key not in self._numbers:
                self._numbers[key] = len(self._numbers) + 1
            return self._numbers[key]

    def find_number(self, number: int) -> tuple[str, str] | None:
        with self._lock:
            return next((k for k, n in self._numbers.items() if n == number), None)

    def __call__(self, event: SlackEvent) -> None:
        lines = self.event_lines(event)
        if not lines:
            return
        with self._lock:
            if self.before_print:
                self.before_print()
            self.out.write("\n".join(lines) + "\n")
            self.out.flush()
            if self.after_print:
                self.after_print()

    def event_lines(self, event: SlackEvent) -> list[str]:
        s = self.style
        if event.view is not None:
            return self.view_lines(event)
        msg = event.message
        if msg is None:
            return []
        n = self.number(msg)
        if event.kind == "delete":
            return [s.dim(f"- deleted #{n} ({summary(msg)})")]
        if event.kind == "update":
            prior = msg.history[-1] if msg.history else None
            if prior is not None and prior.text == msg.text and prior.blocks == msg.blocks:
                return []  # an update that changed nothing shows nothing
            indent = self._indent(msg)
            head = indent + s.yellow(f"~ updated #{n}") + s.dim(f" ({summary(msg)})")
            return [head, *self._body(msg, indent)]
        return self.message_lines(msg, n)

    def message_lines(self, msg: Message, number: int | None = None) -> list[str]:
        s = self.style
        n = number if number is not None else self.number(msg)
        indent = self._indent(msg)
        where = self.slack.channel_name(msg.channel)
        head = f"{s.bold(f'#{n}')} {s.bold('mlops-bot')} {s.dim(where)}"
        if msg.thread_ts and msg.thread_ts != msg.ts:
            parent = self._numbers.get((msg.channel, msg.thread_ts))
            head = "↳ " + head + (s.dim(f" · reply to #{parent}") if parent else "")
        if msg.ephemeral_to is not None:
            who = "you" if msg.ephemeral_to == self.viewer() else self._name(msg.ephemeral_to)
            head += " " + s.italic(s.dim(f"(only visible to {who})"))
        return [indent + head, *self._body(msg, indent)]

    def _body(self, msg: Message, indent: str) -> list[str]:
        return [indent + "  " + line for line in self.renderer.render(msg.blocks, msg.text)]

    def _indent(self, msg: Message) -> str:
        return "    │ " if msg.thread_ts and msg.thread_ts != msg.ts else ""

    def _name(self, uid: str) -> str:
        user = self.slack.users.get(uid)
        return user.name if user else uid

    def view_lines(self, event: SlackEvent) -> list[str]:
        view = event.view
        assert view is not None
        s = self.style
        if event.kind == "view_close":
            return [s.dim(f"- closed modal “{_view_title(view)}”")]
        who = "" if view.user in (None, self.viewer()) else f" (for {self._name(view.user or '')})"
        verb = "updated modal" if event.kind == "view_update" else "modal"
        lines = [s.bold(f"┌ {verb}: {_view_title(view)}") + s.dim(who)]
        for line in self.renderer.render(list(view.view.get("blocks") or [])):
            lines.append("│ " + line)
        submit = text_object(view.view.get("submit"), s)
        close = text_object(view.view.get("close"), s) or "Cancel"
        footer = f"[{submit}] " if submit else ""
        lines.append("└ " + s.dim(f"{footer}[{close}]   (:submit key=value … or :cancel)"))
        return lines

    def transcript(self) -> str:
        """The final state of every message, replies under their thread's parent."""
        msgs = self.slack.messages()
        present = {(m.channel, m.ts) for m in msgs}
        replies: dict[tuple[str, str], list[Message]] = {}
        roots: list[Message] = []
        for m in msgs:
            if m.thread_ts and m.thread_ts != m.ts and (m.channel, m.thread_ts) in present:
                replies.setdefault((m.channel, m.thread_ts), []).append(m)
            else:
                roots.append(m)
        lines: list[str] = []
        for m in roots:
            lines += self.message_lines(m)
            if m.revision:
                lines.append(self.style.dim(f"  (updated {m.revision} time{'s' * (m.revision > 1)})"))
            for r in replies.get((m.channel, m.ts), []):
                lines += self.message_lines(r)
            lines.append("")
        return "\n".join(lines)


def _view_title(view: View) -> str:
    return text_object(view.view.get("title"), Style(False)) or view.callback_id or view.id


def _terminal_width() -> int:
    return min(shutil.get_terminal_size((100, 24)).columns, 120)


# -- finding a button -----------------------------------------------------------------------------

_VERSION_TOKEN = re.compile(r"[vV](\d{1,9})")


def normalize_label(text: str) -> str:
    """Case-, emoji- and punctuation-insensitive form of a label: ``"Reject…"`` -> ``"reject"``."""
    text = emojize(text)
    words = re.sub(r"[^\w]+", " ", text.casefold()).split()
    return " ".join(words)


def _value_versions(value: str | None) -> set[int]:
    if not value:
        return set()
    try:
        data = json.loads(value)
    except ValueError:
        data = None
    found: set[int] = set()
    if isinstance(data, dict):
        for key in ("v", "version"):
            if isinstance(data.get(key), int) and not isinstance(data.get(key), bool):
                found.add(data[key])
    elif isinstance(data, int) and not isinstance(data, bool):
        found.add(data)
    found.update(int(m) for m in _VERSION_TOKEN.findall(value))
    return found


def version_affinity(message: Message, button: Button, version: int) -> int:
    """How surely ``button`` on ``message`` acts on ``version``: 2 certain, 1 likely, 0 no sign."""
    if version in _value_versions(button.value):
        return 2
    if re.search(rf"(?<![\w])v{version}(?![\w])", button.block_id + " " + button.label, re.IGNORECASE):
        return 2
    first = message.text.split(",")[0]
    headers = " ".join(
        str((b.get("text") or {}).get("text", "")) for b in message.blocks if b.get("type") == "header"
    )
    if re.search(rf"(?<![\w])v{version}(?![\w])", headers + " " + first, re.IGNORECASE):
        return 1
    return 0


@dataclass(frozen=True)
class Click:
    message: Message
    button: Button
    rest: str  # text after the button spec (modal input in scripts)


def find_click(messages: Sequence[Message], words: Sequence[str]) -> Click:
    """Resolve ``:click`` arguments against ``messages`` (oldest first, as the viewer sees them).

    Longest label first: ``Promote to production v2 now`` tries the longest word prefix
    that names a button, then an optional ``vN`` selects that version's message, and
    the rest is returned as modal input.
    """
    if not words:
        raise ShellError("usage: :click LABEL [vN] [text]  (or :click N for button N of the newest message)")
    newest_first = [m for m in reversed(messages) if buttons_of(m.blocks)]
    if not newest_first:
        raise ShellError("no message with buttons yet")
    if re.fullmatch(r"\d{1,3}", words[0]):
        msg = newest_first[0]
        number = int(words[0])
        btns = buttons_of(msg.blocks)
        if not 1 <= number <= len(btns):
            raise ShellError(f"the newest message with buttons has buttons 1 to {len(btns)}: {_labels(btns)}")
        return Click(msg, btns[number - 1], " ".join(words[1:]))
    for k in range(len(words), 0, -1):
        typed = normalize_label(" ".join(words[:k]).strip("\"'"))
        if not typed:
            continue
        rest = list(words[k:])
        version = None
        if rest and (m := _VERSION_TOKEN.fullmatch(rest[0])):
            version, rest = int(m.group(1)), rest[1:]
        click = _match(newest_first, typed, version)
        if click is not None:
            return Click(click[0], click[1], " ".join(rest))
    available = sorted({b.label for m in newest_first for b in buttons_of(m.blocks)})
    raise ShellError(
        f"no button labelled {' '.join(words)!r} on any message you can see; buttons: "
        + ", ".join(repr(a) for a in available)
    )


def _labels(buttons: Sequence[Button]) -> str:
    return ", ".join(f"{b.number} {b.label!r}" for b in buttons)


def _match(newest_first: Sequence[Message], typed: str, version: int | None) -> tuple[Message, Button] | None:
    best: tuple[int, int, Message, Button] | None = None  # (affinity, -age, ...)
    for age, msg in enumerate(newest_first):
        btns = buttons_of(msg.blocks)
        exact = [b for b in btns if normalize_label(b.label) == typed]
        prefix = [b for b in btns if normalize_label(b.label).startswith(typed + " ")]
        candidates = exact or prefix
        if len(candidates) > 1:
            raise ShellError(f"{typed!r} matches several buttons on one message: {_labels(candidates)}")
        if not candidates:
            continue
        button = candidates[0]
        if version is None:
            return msg, button
        affinity = version_affinity(msg, button, version)
        if affinity and (best is None or (affinity, -age) > best[:2]):
            best = (affinity, -age, msg, button)
    return None if best is None else (best[2], best[3])


# -- modals -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InputField:
    block_id: str
    action_id: str
    label: str
    kind: str
    optional: bool
    element: JSON
    options: tuple[JSON, ...] = ()

    def names(self) -> set[str]:
        """What ``:submit`` accepts as this field's key."""
        label = normalize_label(self.label).replace(" ", "_")
        return {self.block_id.casefold(), self.action_id.casefold(), label}


def input_fields(view: JSON) -> list[InputField]:
    fields = []
    for block in view.get("blocks") or []:
        if block.get("type") != "input" or not isinstance(block.get("element"), dict):
            continue
        el = block["element"]
        options = tuple(el.get("options") or []) + tuple(
            o for g in el.get("option_groups") or [] for o in g.get("options") or []
        )
        fields.append(
            InputField(
                block_id=str(block.get("block_id", "")),
                action_id=str(el.get("action_id", "")),
                label=text_object(block.get("label"), Style(False)),
                kind=str(el.get("type", "")),
                optional=bool(block.get("optional", False)),
                element=el,
                options=options,
            )
        )
    return fields


def _option(field_: InputField, answer: str) -> JSON:
    wanted = answer.strip()
    for i, opt in enumerate(field_.options, start=1):
        label = str((opt.get("text") or {}).get("text", ""))
        if wanted in (str(opt.get("value")), str(i)) or normalize_label(label) == normalize_label(wanted):
            return dict(opt)
    choices = ", ".join(str((o.get("text") or {}).get("text", o.get("value"))) for o in field_.options)
    raise ShellError(f"{field_.label!r} has no option {answer!r}; choose one of: {choices}")


def field_state(field_: InputField, answer: str | None) -> JSON:
    """The ``state.values`` entry Slack sends for one input, from the typed answer."""
    el = field_.element
    kind = field_.kind
    if kind in ("static_select", "radio_buttons", "external_select"):
        if answer is None or not answer.strip():
            initial = el.get("initial_option")
            return {"type": kind, "selected_option": initial}
        return {"type": kind, "selected_option": _option(field_, answer)}
    if kind == "checkboxes":
        if answer is None:
            return {"type": kind, "selected_options": list(el.get("initial_options") or [])}
        picked = [_option(field_, a) for a in answer.split(",") if a.strip()]
        return {"type": kind, "selected_options": picked}
    if kind in ("users_select", "conversations_select", "channels_select"):
        key = {"users_select": "selected_user"}.get(kind, "selected_conversation")
        return {"type": kind, key: (answer or None)}
    value = answer if answer is not None else el.get("initial_value")
    if kind == "number_input" and value not in (None, ""):
        try:
            float(str(value))
        except ValueError:
            raise ShellError(f"{field_.label!r} needs a number, got {value!r}") from None
    return {"type": kind or "plain_text_input", "value": value if value not in ("", None) else None}


def _is_empty(state: JSON) -> bool:
    return all(state.get(k) in (None, [], "") for k in ("value", "selected_option", "selected_options"))


def build_state(view: JSON, answers: Mapping[str, str]) -> JSON:
    """``view.state`` for a submission; ``answers`` maps a field's block_id to the typed text."""
    values: JSON = {}
    missing = []
    for f in input_fields(view):
        state = field_state(f, answers.get(f.block_id))
        if not f.optional and _is_empty(state):
            missing.append(f.label or f.block_id)
        values.setdefault(f.block_id, {})[f.action_id] = state
    if missing:
        raise ShellError("required field(s) left empty: " + ", ".join(repr(m) for m in missing))
    return {"values": values}


def parse_answers(view: JSON, text: str) -> dict[str, str]:
    """``key=value ...`` (key: block_id, action_id or label) or plain text for the first field."""
    fields = input_fields(view)
    if not fields:
        return {}
    by_key = {k: f for f in fields for k in f.names()}
    answers: dict[str, str] = {}
    current: str | None = None
    words = text.split()
    if not words:
        return answers
    first_key = words[0].split("=", 1)[0].casefold() if "=" in words[0] else None
    if first_key is None or first_key not in by_key:
        if first_key is not None and len(fields) > 1:
            keys = sorted({f.block_id for f in fields})
            raise ShellError(f"unknown field {first_key!r}; fields: {', '.join(keys)}")
        if first_key is None or len(fields) == 1:
            answers[fields[0].block_id] = text.strip()
            return answers
    for word in words:
        key, sep, value = word.partition("=")
        if sep and key.casefold() in by_key:
            current = by_key[key.casefold()].block_id
            answers[current] = value
        elif current is not None:
            answers[current] += " " + word
    return answers


# -- requests as Slack sends them -----------------------------------------------------------------


def signed_headers(secret: str, body: str, content_type: str, now: float | None = None) -> dict[str, str]:
    from slack_sdk.signature import SignatureVerifier

    timestamp = str(int(now if now is not None else time.time()))
    signature = str(SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body))
    return {
        "content-type": content_type,
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": signature,
    }


class TrackingExecutor(Executor):
    """Counts work not yet finished, so the shell can tell when Bolt's listeners are done."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner
        self._pending = 0
        self._cond = threading.Condition()

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        with self._cond:
            self._pending += 1
        try:
            future = self.inner.submit(fn, *args, **kwargs)
        except BaseException:
            self._done()
            raise
        future.add_done_callback(lambda _f: self._done())
        return future

    def _done(self) -> None:
        with self._cond:
            self._pending -= 1
            self._cond.notify_all()

    @property
    def pending(self) -> int:
        with self._cond:
            return self._pending

    def wait_idle(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._pending == 0, timeout)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.inner.shutdown(wait=wait, cancel_futures=cancel_futures)


def track_listeners(app: Any) -> TrackingExecutor:
    """Wrap the executor Bolt runs listeners (and lazy listeners) on, to know when they finish."""
    runner = app.listener_runner
    tracker = TrackingExecutor(runner.listener_executor)
    runner.listener_executor = tracker
    lazy = getattr(runner, "lazy_listener_runner", None)
    if lazy is not None and hasattr(lazy, "executor"):
        lazy.executor = tracker
    return tracker


# -- the shell --------------------------------------------------------------------------------------


class Shell:
    """One terminal chat session: local platform, local Slack, the Bolt app, and a user."""

    def __init__(
        self,
        settings: Settings,
        *,
        user: str | None = None,
        out: IO[str] | None = None,
        err: IO[str] | None = None,
        color: bool = False,
        interactive: bool = False,
        width: int | None = None,
    ) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.style = Style(color)
        self.interactive = interactive
        self.users: dict[str, LocalUser] = load_users(settings.mlops_home)
        start_user = user or os.environ.get("MLOPS_USER") or next(iter(self.users), "")
        if start_user not in self.users:
            raise ConfigError(self._unknown_user(start_user))
        self.user = self.users[start_user]
        token = "xoxb-local-" + secrets.token_hex(16)
        self.signing_secret = secrets.token_hex(32)
        self.settings = settings.model_copy(
            update={
                "slack_bot_token": SecretStr(token),
                "slack_signing_secret": SecretStr(self.signing_secret),
            }
        )
        channel = settings.mlops_channel
        self.slack = LocalSlack(self.users.values(), token=token, channels=(channel,), strict_triggers=True)
        self.channel = self.slack.channel_id(channel)
        self.printer = TranscriptPrinter(
            self.slack,
            self.out,
            self.style,
            viewer=lambda: self.user.id,
            width=width,
            before_print=self._clear_prompt,
            after_print=self._redraw_prompt,
        )
        self._at_prompt = False
        self.failed = False
        # Any: set in start(); the notifier is attached to it as an extra attribute the listeners look up
        self.services: Any = None
        self.app: Any = None  # slack_bolt.App
        self.listeners: TrackingExecutor | None = None
        self.notifier: Notifier | None = None
        self._started = False

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> Shell:
        from bot.services import build_services
        from runtimes.assembly import create_app

        self.slack.start()
        self.slack.subscribe(self.printer)
        self.services = build_services(self.settings, host_endpoints_in_process=True)
        try:
            client = self.slack.web_client()
            self.notifier = self._notifier(client)
            self.app = create_app(self.services, client=client)
            self.listeners = track_listeners(self.app)
            # Warm up like a server start: the first parameter lookup imports the training
            # stack (seconds), which must not land inside a 3-second acknowledgement.
            self.services.platform.pipeline_parameters()
        except BaseException:
            self.services.close()
            self.slack.close()
            raise
        self._started = True
        return self

    def _notifier(self, client: Any) -> Notifier:
        """The notifier the listeners post through, created here so the shell can wait for it."""
        from bot.notify import Notifier

        existing = getattr(self.services, "notifier", None)
        if isinstance(existing, Notifier):
            return existing
        notifier = Notifier(cast("SlackPoster", client), self.services.store, self.settings.mlops_channel)
        self.services.notifier = notifier
        return notifier

    def close(self) -> None:
        if not self._started:
            return
        self._started = False
        if self.listeners is not None:
            self.listeners.wait_idle(timeout=30)
        if self.notifier is not None:
            self.notifier.close(timeout=10)
        self.services.close()
        self.slack.close()

    def __enter__(self) -> Shell:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- output ---------------------------------------------------------------------------------
    def say(self, text: str) -> None:
        self._clear_prompt()
        self.out.write(text + "\n")
        self.out.flush()

    def error(self, text: str) -> None:
        self._clear_prompt()
        self.out.flush()
        self.err.write(self.style.red("error: ") + text + "\n")
        self.err.flush()

    @property
    def prompt(self) -> str:
        return self.style.bold(self.style.green(self.user.name)) + "> "

    def _clear_prompt(self) -> None:
        if self.interactive and self._at_prompt:
            self.out.write("\r\x1b[K")

    def _redraw_prompt(self) -> None:
        if self.interactive and self._at_prompt:
            buffer = ""
            with contextlib.suppress(ImportError):
                import readline

                buffer = readline.get_line_buffer()
            self.out.write(self.prompt + buffer)
            self.out.flush()

    # -- commands -------------------------------------------------------------------------------
    def execute(self, line: str) -> bool:
        """Run one line. Returns False for ``:quit``; raises ShellError for a line that cannot run."""
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        if line.startswith("/"):
            command, _, text = line.partition(" ")
            self.slash(command, text.strip())
            return True
        if not line.startswith(":"):
            raise ShellError(
                f"{line.split()[0]!r} is neither a slash command nor a shell command; "
                f"try `{SLASH_COMMAND} help` or `:help`"
            )
        name, _, rest = line[1:].partition(" ")
        rest = rest.strip()
        match name.casefold():
            case "quit" | "exit" | "q":
                return False
            case "help" | "h" | "?":
                self.say(HELP)
            case "as":
                self.switch_user(rest)
            case "users" | "who":
                self.say(self.describe_users())
            case "wait":
                if not self.settle():
                    raise ShellError("background work did not settle in time")
            case "click":
                self.click(rest)
            case "submit":
                self.submit(rest)
            case "cancel":
                self.cancel()
            case _:
                raise ShellError(
                    f"unknown command ':{name}'; shell commands: :click :submit :cancel :as :users :wait "
                    ":help :quit"
                )
        return True

    def _unknown_user(self, name: str) -> str:
        return f"unknown user {name!r}; users: {', '.join(self.users)} (edit users.json to add people)"

    def switch_user(self, name: str) -> None:
        name = name.strip().lstrip("@")
        if not name:
            raise ShellError("usage: :as NAME  (" + ", ".join(self.users) + ")")
        if name not in self.users:
            raise ShellError(self._unknown_user(name))
        self.user = self.users[name]
        self.say(self.style.dim(f"now acting as {self._describe(self.user)}"))

    def _describe(self, user: LocalUser) -> str:
        roles = sorted(r.value for r in roles_for(user.groups, self.settings.mlops_roles))
        groups = ", ".join(user.groups) or "no groups"
        return f"{user.name} ({groups}; roles: {', '.join(roles) or 'none'})"

    def describe_users(self) -> str:
        return "\n".join(("* " if u is self.user else "  ") + self._describe(u) for u in self.users.values())

    # -- Slack requests ---------------------------------------------------------------------------
    def _user_json(self) -> JSON:
        return {"id": self.user.id, "username": self.user.name, "name": self.user.name, "team_id": TEAM_ID}

    def _dispatch(self, body: str, content_type: str) -> Any:
        from slack_bolt.request import BoltRequest

        headers: dict[str, str | Sequence[str]] = dict(
            signed_headers(self.signing_secret, body, content_type)
        )
        response = self.app.dispatch(BoltRequest(body=body, headers=headers))
        if response.status == 401:
            raise ShellError("the app rejected the request signature (is the signing secret right?)")
        return response

    def slash(self, command: str, text: str) -> None:
        if command != SLASH_COMMAND:
            raise ShellError(f"unknown slash command {command!r}; this app has {SLASH_COMMAND}")
        body = urlencode(
            {
                "token": "local-verification-token",
                "team_id": TEAM_ID,
                "team_domain": "local",
                "channel_id": self.channel,
                "channel_name": self.slack.channel_name(self.channel).lstrip("#"),
                "user_id": self.user.id,
                "user_name": self.user.name,
                "command": command,
                "text": text,
                "api_app_id": "A0MLOPSBOT",
                "is_enterprise_install": "false",
                "response_url": self.slack.response_url(self.channel, self.user.id),
                "trigger_id": self.slack.issue_trigger(self.user.id),
            }
        )
        response = self._dispatch(body, "application/x-www-form-urlencoded")
        self._show_ack(command, response)
        self._await_modal(set())

    def _dispatch_payload(self, payload: JSON) -> Any:
        """Interactions arrive form-encoded with the JSON in a ``payload`` field."""
        body = urlencode({"payload": json.dumps(payload)})
        return self._dispatch(body, "application/x-www-form-urlencoded")

    def _show_ack(self, what: str, response: Any) -> None:
        if response.status == 404:
            raise ShellError(f'{what} failed with the error "dispatch_failed" (no listener handled it)')
        if response.status >= 400:
            raise ShellError(f'{what} failed with the error "http_error_{response.status}"')
        body = _json_body(response.body)
        if body is None and response.body:
            body = {"text": str(response.body)}
        if body:
            self.slack.post_ack(self.channel, self.user.id, body)

    def click(self, args: str) -> None:
        words = args.split()
        visible = self.slack.messages(visible_to=self.user.id)
        if words and words[0].startswith("#") and words[0][1:].isdigit():
            ref = self.printer.find_number(int(words[0][1:]))
            visible = [m for m in visible if (m.channel, m.ts) == ref]
            if not visible:
                raise ShellError(f"there is no message {words[0]} you can see")
            words = words[1:]
        target = find_click(visible, words)
        if target.button.confirm and not self._confirm(target.button.confirm):
            self.say(self.style.dim("cancelled"))
            return
        before = {v.id for v in self.slack.views()}
        self.say(self.style.dim(f"clicked [{target.button.label}] on #{self.printer.number(target.message)}"))
        msg = target.message
        payload: JSON = {
            "type": "block_actions",
            "user": self._user_json(),
            "api_app_id": "A0MLOPSBOT",
            "token": "local-verification-token",
            "container": {
                "type": "message",
                "message_ts": msg.ts,
                "channel_id": msg.channel,
                "is_ephemeral": msg.ephemeral_to is not None,
            },
            "trigger_id": self.slack.issue_trigger(self.user.id),
            "team": {"id": TEAM_ID, "domain": "local"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": msg.channel, "name": self.slack.channel_name(msg.channel).lstrip("#@")},
            "state": {"values": {}},
            "response_url": self.slack.response_url(msg.channel, self.user.id, msg.ts, msg.thread_ts),
            "actions": [
                {
                    "type": "button",
                    "action_id": target.button.action_id,
                    "block_id": target.button.block_id,
                    "text": target.button.element.get("text"),
                    "value": target.button.value,
                    "style": target.button.style,
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        if target.button.value is None:
            del payload["actions"][0]["value"]
        if target.button.style is None:
            del payload["actions"][0]["style"]
        if msg.ephemeral_to is None:  # Slack omits the message of an ephemeral container
            payload["message"] = msg.to_api()
        response = self._dispatch_payload(payload)
        if response.status == 404:
            raise ShellError("the click failed: no listener handled it")
        self._await_modal(before, target.rest)

    def _confirm(self, confirm: JSON) -> bool:
        s = self.style
        title = text_object(confirm.get("title"), s)
        text = text_object(confirm.get("text"), s, self.printer.renderer.names)
        yes = text_object(confirm.get("confirm"), s) or "Confirm"
        no = text_object(confirm.get("deny"), s) or "Cancel"
        self.say(s.bold(f"? {title}") + f" {text} [{yes}] [{no}]")
        if not self.interactive:
            self.say(s.dim(f"  → {yes}"))
            return True
        answer = input(f"  {yes}? [y/N] ").strip().casefold()
        return answer in ("y", "yes", normalize_label(yes))

    def _open_view(self) -> View | None:
        views = [v for v in self.slack.views(open_only=True) if v.user in (None, self.user.id)]
        return views[-1] if views else None

    def _await_modal(self, before: set[str], rest: str = "") -> None:
        """A listener may open a modal (after ack): wait for it briefly, then fill it in."""
        deadline = time.monotonic() + MODAL_WAIT_SECONDS
        view: View | None = None
        while time.monotonic() < deadline:
            new = [
                v for v in self.slack.views(open_only=True) if v.id not in before and v.user == self.user.id
            ]
            if new:
                view = new[-1]
                break
            if self.listeners is not None and self.listeners.pending == 0 and not self.slack.busy:
                break
            time.sleep(0.02)
        if view is None:
            if rest:
                raise ShellError(f"the click opened no modal, so {rest!r} has nowhere to go")
            return
        if rest:
            self._submit_view(view, parse_answers(view.view, rest))
        elif self.interactive:
            self._prompt_view(view)

    def _prompt_view(self, view: View) -> None:
        answers: dict[str, str] = {}
        for f in input_fields(view.view):
            while True:
                suffix = "" if f.optional else "*"
                if f.options:
                    for i, opt in enumerate(f.options, start=1):
                        self.say(f"    {i}. {(opt.get('text') or {}).get('text', opt.get('value'))}")
                try:
                    answer = input(f"  {f.label}{suffix}: ")
                except EOFError:
                    self.cancel()
                    return
                if answer.strip() == ":cancel":
                    self.cancel()
                    return
                try:
                    field_state(f, answer)
                except ShellError as exc:
                    self.error(str(exc))
                    continue
                if not answer.strip() and not f.optional:
                    self.error(f"{f.label!r} is required (type :cancel to close the modal)")
                    continue
                answers[f.block_id] = answer
                break
        self._submit_view(view, answers)

    def submit(self, args: str) -> None:
        view = self._open_view()
        if view is None:
            raise ShellError("no modal is open")
        self._submit_view(view, parse_answers(view.view, args))

    def _submit_view(self, view: View, answers: Mapping[str, str]) -> None:
        current = self.slack.view(view.id) or view
        submitted = dict(current.view)
        submitted["state"] = build_state(current.view, answers)
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM_ID, "domain": "local"},
            "user": self._user_json(),
            "api_app_id": "A0MLOPSBOT",
            "token": "local-verification-token",
            "trigger_id": self.slack.issue_trigger(self.user.id),
            "view": submitted,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        before = {v.id for v in self.slack.views()}
        response = self._dispatch_payload(payload)
        if response.status == 404:
            raise ShellError("submitting the modal failed: no listener handled it")
        body = _json_body(response.body) or {}
        action = body.get("response_action")
        if action == "errors":
            errors = body.get("errors") or {}
            lines = [f"  {k}: {v}" for k, v in errors.items()]
            self.error("the modal was not accepted:\n" + "\n".join(lines))
            if not self.interactive:
                raise ShellError(
                    "modal submission rejected: " + "; ".join(f"{k}: {v}" for k, v in errors.items())
                )
            self._prompt_view(current)
            return
        if action == "update" and isinstance(body.get("view"), dict):
            self.slack.replace_view(view.id, body["view"])
            return
        if action == "push" and isinstance(body.get("view"), dict):
            self.slack.push_view(self.user.id, body["view"])
            return
        self.slack.close_view(view.id)
        self._await_modal(before)

    def cancel(self) -> None:
        view = self._open_view()
        if view is None:
            raise ShellError("no modal is open")
        self.slack.close_view(view.id)
        if view.view.get("notify_on_close"):
            payload = {
                "type": "view_closed",
                "team": {"id": TEAM_ID, "domain": "local"},
                "user": self._user_json(),
                "api_app_id": "A0MLOPSBOT",
                "token": "local-verification-token",
                "view": view.view,
                "is_cleared": False,
                "is_enterprise_install": False,
            }
            self._dispatch_payload(payload)

    # -- settling ---------------------------------------------------------------------------------
    def _platform_busy(self) -> bool:
        try:
            return any(not e.status.terminal for e in self.services.platform.list_executions(limit=10))
        except Exception:  # a platform hiccup must not hang the shell; the quiet check still applies
            log.debug("could not list executions while settling", exc_info=True)
            return False

    def settle(self, timeout: float = SETTLE_TIMEOUT_SECONDS) -> bool:
        """Wait until listeners, pipeline runs, platform events and Slack traffic are all idle."""
        deadline = time.monotonic() + timeout
        calm = 0
        flush = getattr(self.services.platform, "flush_events", None)
        while time.monotonic() < deadline:
            remaining = deadline - time.monotonic()
            busy = (
                (self.listeners is not None and self.listeners.pending > 0)
                or self._platform_busy()
                or (self.notifier is not None and self.notifier.pending() > 0)
                or self.slack.busy
            )
            if busy:
                calm = 0
                if self.listeners is not None:
                    self.listeners.wait_idle(timeout=min(0.2, remaining))
                else:
                    time.sleep(0.1)
                continue
            if callable(flush):
                flush(timeout=min(10.0, max(remaining, 0.1)))
            if self.slack.wait_quiet(QUIET_SECONDS, timeout=min(5.0, max(remaining, 0.1))):
                calm += 1
                if calm >= 2:
                    return True
        return False

    # -- loops ------------------------------------------------------------------------------------
    def run_script(self, lines: Iterable[str]) -> int:
        """Run lines as a script: echo, run, settle. Stops at the first line that cannot run."""
        for number, raw in enumerate(lines, start=1):
            line = raw.rstrip("\n")
            if not line.strip():
                continue
            self.say(self.prompt + line)
            if line.strip().startswith("#"):
                continue
            try:
                if not self.execute(line):
                    break
            except ShellError as exc:
                self.error(f"line {number}: {exc}")
                self.failed = True
                break
            if not self.settle():
                self.error(
                    f"line {number}: background work did not settle within {SETTLE_TIMEOUT_SECONDS:.0f} s"
                )
                self.failed = True
                break
        return 1 if self.failed else 0

    def run_interactive(self) -> int:
        with contextlib.suppress(ImportError):
            import readline

            _load_history(readline, self.settings.mlops_home)
        self.say(
            self.style.bold("mlops-bot terminal chat")
            + self.style.dim(f" — {self._describe(self.user)}; :help for help, :quit to leave")
        )
        while True:
            self._at_prompt = True
            try:
                # readline counts prompt width itself: mark ANSI codes as zero-width for it
                line = input(_ANSI.sub(lambda m: "\x01" + m.group(0) + "\x02", self.prompt))
            except EOFError:
                self.say("")
                break
            except KeyboardInterrupt:
                self.say("")
                continue
            finally:
                self._at_prompt = False
            try:
                if not self.execute(line):
                    break
            except ShellError as exc:
                self.error(str(exc))
            except KeyboardInterrupt:
                self.say(self.style.dim("interrupted"))
        with contextlib.suppress(ImportError):
            import readline

            _save_history(readline, self.settings.mlops_home)
        return 0


def _load_history(readline: Any, home: Path) -> None:
    with contextlib.suppress(OSError):
        readline.read_history_file(str(home / "shell_history"))


def _save_history(readline: Any, home: Path) -> None:
    with contextlib.suppress(OSError):
        readline.set_history_length(1000)
        readline.write_history_file(str(home / "shell_history"))


def _json_body(body: Any) -> JSON | None:
    if isinstance(body, dict):
        return body
    if not body:
        return None
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# -- entry point ------------------------------------------------------------------------------------


def _parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mlops-bot shell", description="Chat with the bot in the terminal.")
    parser.add_argument("--home", type=Path, help="data directory (default MLOPS_HOME or ./.mlops)")
    parser.add_argument("--as", dest="user", help="who you are at start (a user of users.json)")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    return parser.parse_args(list(argv))


def _resolve(
    argv_or_settings: Sequence[str] | Settings | None, user: str | None
) -> tuple[Settings, str | None, str]:
    if isinstance(argv_or_settings, Settings):
        return argv_or_settings, user, "auto"
    args = _parse_args(sys.argv[1:] if argv_or_settings is None else argv_or_settings)
    overrides = {"mlops_home": args.home} if args.home is not None else {}
    return load_settings(**overrides), args.user or user, args.color


def _use_color(mode: str, stream: IO[str]) -> bool:
    if mode != "auto":
        return mode == "always"
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def main_shell(
    argv_or_settings: Sequence[str] | Settings | None = None,
    *,
    user: str | None = None,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """``mlops-bot shell [--home DIR] [--as NAME]``: interactive on a terminal, a script otherwise.

    Exit codes: 0 done; 1 a script line could not run; 2 configuration error.
    """
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    try:
        settings, start_user, color_mode = _resolve(argv_or_settings, user)
        interactive = stdin.isatty()
        shell = Shell(
            settings,
            user=start_user,
            out=stdout,
            err=stderr,
            color=_use_color(color_mode, stdout),
            interactive=interactive,
        )
    except (ConfigError, ValueError) as exc:
        print(f"mlops-bot shell: {exc}", file=stderr)
        return 2
    with _quiet_logs(), shell:
        if interactive and stdin is sys.stdin:
            return shell.run_interactive()
        code = shell.run_script(stdin)
        if not shell.failed and not shell.settle():
            shell.error("background work did not settle before exit")
            return 1
        return code


@contextlib.contextmanager
def _quiet_logs() -> Iterator[None]:
    """Library chatter would interleave with the chat; warnings and errors still show."""
    root = logging.getLogger()
    handler: logging.Handler | None = None
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.setLevel(previous)
        if handler is not None:
            root.removeHandler(handler)


__all__ = [
    "HELP",
    "BlockRenderer",
    "Button",
    "Click",
    "Shell",
    "ShellError",
    "Style",
    "TranscriptPrinter",
    "build_state",
    "buttons_of",
    "find_click",
    "input_fields",
    "main_shell",
    "mrkdwn",
    "normalize_label",
    "parse_answers",
    "signed_headers",
]
