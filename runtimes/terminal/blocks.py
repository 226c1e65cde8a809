"""Block Kit as terminal lines: sections, fields in columns, context, numbered buttons, inputs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runtimes.slack_local import Message
from runtimes.terminal.markup import emojize, mrkdwn, text_object
from runtimes.terminal.style import ANSI, Style, pad, visible_len

#: A Block Kit object (block, element, view) as Slack's JSON.
JSON = dict[str, Any]


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
            return [s.dim(ANSI.sub("", line)) for line in "  ·  ".join(parts).splitlines()]
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
    return _short(ANSI.sub("", mrkdwn(first, Style(False))))


def _short(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = ["JSON", "BlockRenderer", "Button", "buttons_of", "summary"]
