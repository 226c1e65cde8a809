"""LocalSlack's transcript printed as it changes: new messages, updates, threads, ephemerals, modals."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from typing import IO

from runtimes.slack_local import BOT_USER_ID, LocalSlack, Message, SlackEvent, View
from runtimes.terminal.blocks import BlockRenderer, summary
from runtimes.terminal.markup import text_object
from runtimes.terminal.style import Style


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


__all__ = ["TranscriptPrinter"]
