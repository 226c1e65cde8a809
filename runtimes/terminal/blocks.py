"""Block Kit as rich renderables: sections, field columns, context, numbered buttons; cards as panels."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from runtimes.slack_local import Message
from runtimes.terminal.markup import emojize, mrkdwn, text_object

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


#: How a button's ``style`` shows; a default button is blue, as in Slack.
BUTTON_STYLES = {"primary": "bold green", "danger": "bold red"}
#: Below this width, a section's fields stack in one column.
NARROW = 60


class BlockRenderer:
    """Renders Block Kit as rich renderables; a message that opens with a header shows as a card."""

    def __init__(self, names: Mapping[str, str] | None = None, width: int = 100) -> None:
        self.names = dict(names or {})
        self.width = max(40, width)

    def button(self, button: Button) -> Text:
        return Text(
            f"[{button.number} {emojize(button.label)}]", style=BUTTON_STYLES.get(button.style or "", "blue")
        )

    def render(self, blocks: Sequence[JSON], text: str = "") -> RenderableType:
        """The message's blocks (its text when it has none); a header opens a card drawn as a panel."""
        if not blocks:
            return mrkdwn(text, self.names)
        numbered = iter(buttons_of(blocks))
        parts = [part for block in blocks for part in self._block(block, numbered)]
        if blocks[0].get("type") == "header" and len(parts) > 1:
            title = self._bold(blocks[0].get("text"))
            return Panel(Group(*parts[1:]), title=title, title_align="left", expand=False, padding=(0, 1))
        return Group(*parts)

    def _text(self, obj: Any) -> Text:
        return text_object(obj, self.names)

    def _bold(self, obj: Any) -> Text:
        text = self._text(obj)
        text.stylize("bold")
        return text

    def _block(self, block: JSON, numbered: Iterator[Button]) -> list[RenderableType]:
        kind = block.get("type")
        if kind == "header":
            return [self._bold(block.get("text"))]
        if kind == "divider":
            return [Rule(style="dim", characters="─")]
        if kind == "section":
            parts: list[RenderableType] = [self._text(block["text"])] if block.get("text") else []
            if block.get("fields"):
                parts.append(self._fields([self._text(f) for f in block["fields"]]))
            acc = block.get("accessory")
            if isinstance(acc, dict) and acc.get("type") == "button":
                parts.append(self.button(next(numbered)))
            elif isinstance(acc, dict):
                parts.append(Text(f"[{acc.get('type', 'element')}]", style="dim"))
            return parts
        if kind == "context":
            pieces = [
                Text(f"[{el.get('alt_text', 'image')}]")
                if isinstance(el, dict) and el.get("type") == "image"
                else self._text(el)
                for el in block.get("elements") or []
            ]
            line = Text("  ·  ").join(pieces)
            line.stylize("dim")
            return [line]
        if kind == "actions":
            shown = []
            for el in block.get("elements") or []:
                if isinstance(el, dict) and el.get("type") == "button":
                    shown.append(self.button(next(numbered)))
                elif isinstance(el, dict):
                    placeholder = self._text(el.get("placeholder")).plain or el.get("type", "element")
                    shown.append(Text(f"[{placeholder} ▾]", style="dim"))
            return [Text(" ").join(shown)] if shown else []
        if kind == "input":
            return [self._input(block)]
        if kind == "image":
            return [Text(f"[image: {block.get('alt_text', '')}]", style="dim")]
        if kind == "rich_text":
            return [Text(_rich_text(block))]
        if kind == "markdown":
            return [mrkdwn(str(block.get("text", "")), self.names)]
        return [Text(f"[{kind} block]", style="dim")]

    def _input(self, block: JSON) -> Text:
        element = block.get("element") or {}
        kind = str(element.get("type", "input")).replace("_", " ")
        hint = f" — {self._text(block.get('hint')).plain}" if block.get("hint") else ""
        required = "" if block.get("optional") else "*"
        return Text.assemble(self._bold(block.get("label")), required, " ", (f"({kind}){hint}", "dim"))

    def _fields(self, fields: list[Text]) -> Table:
        """Fields two per row, like Slack lays them out; one per row when the terminal is narrow."""
        columns = 1 if self.width < NARROW else 2
        grid = Table.grid(padding=(0, 3))
        for _ in range(columns):
            grid.add_column(max_width=self.width // 2 if columns == 2 else None)
        for i in range(0, len(fields), columns):
            row = fields[i : i + columns]
            grid.add_row(*row, *[Text()] * (columns - len(row)))
        return grid


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
    return _short(mrkdwn(first).plain)


def _short(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = ["JSON", "BlockRenderer", "Button", "buttons_of", "summary"]
