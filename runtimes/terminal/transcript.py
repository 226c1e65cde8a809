"""LocalSlack's transcript printed as it changes: new messages, updates, threads, ephemerals, modals."""

from __future__ import annotations

import difflib
import io
import threading
from collections.abc import Callable

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.text import Text

from runtimes.slack_local import BOT_USER_ID, LocalSlack, Message, SlackEvent, View
from runtimes.terminal.blocks import JSON, BlockRenderer, summary
from runtimes.terminal.markup import text_object

#: How far a message's body, and a thread reply under its parent, are indented.
BODY_INDENT = 2
REPLY_INDENT = 4
#: An update is shown as the lines it changed: on one line up to ONE_LINE of them, one per line up
#: to CHANGED_LINES_SHOWN. More, or an update that kept less than half of the lines (such as an
#: answer that replaced a "working" note), and the message is shown whole.
ONE_LINE = 2
CHANGED_LINES_SHOWN = 6
#: Panel borders and padding around a rendered line, stripped when lines are compared.
_FRAME = "│╭╮╰╯─ "


class TranscriptPrinter:
    """Prints LocalSlack's transcript events as they happen, numbering messages ``#1, #2, ...``."""

    def __init__(
        self,
        slack: LocalSlack,
        console: Console,
        *,
        viewer: Callable[[], str],
        before_print: Callable[[], None] | None = None,
        after_print: Callable[[], None] | None = None,
    ) -> None:
        self.slack = slack
        self.console = console
        self.viewer = viewer
        names = {u.id: u.name for u in slack.users.values()} | {BOT_USER_ID: "mlops-bot"}
        self.renderer = BlockRenderer(names, console.width)
        self._numbers: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self.before_print = before_print
        self.after_print = after_print

    def number(self, message: Message) -> int:
        """The message's ``#N``: the workspace's (kept across restarts), else in order of printing."""
        if message.number:
            return message.number
        with self._lock:
            key = (message.channel, message.ts)
            if key not in self._numbers:
                self._numbers[key] = len(self._numbers) + 1
            return self._numbers[key]

    def find_number(self, number: int) -> tuple[str, str] | None:
        found = next((m for m in self.slack.messages(include_deleted=True) if m.number == number), None)
        if found is not None:
            return found.channel, found.ts
        with self._lock:
            return next((k for k, n in self._numbers.items() if n == number), None)

    def rename(self, names: dict[str, str]) -> None:
        """Use these user names (id -> name) from now on, as when the roster changed."""
        self.renderer.names = names | {BOT_USER_ID: "mlops-bot"}

    def __call__(self, event: SlackEvent) -> None:
        shown = self.event_renderable(event)
        if shown is None:
            return
        with self._lock:
            if self.before_print:
                self.before_print()
            self.console.print(shown)
            self.console.file.flush()
            if self.after_print:
                self.after_print()

    def event_renderable(self, event: SlackEvent) -> RenderableType | None:
        """What one transcript event shows, or None when it shows nothing."""
        if event.view is not None:
            return self.view_renderable(event)
        msg = event.message
        if msg is None:
            return None
        n = self.number(msg)
        if event.kind == "delete":
            return Text(f"- deleted #{n} ({summary(msg)})", style="dim")
        if event.kind == "update":
            prior = msg.history[-1] if msg.history else None
            if prior is not None and prior.text == msg.text and prior.blocks == msg.blocks:
                return None  # an update that changed nothing shows nothing
            changed = self.changed_lines(prior.blocks, prior.text, msg) if prior is not None else None
            if changed is not None:
                head = Text.assemble((f"~ #{n} ", "yellow"), (f"{summary(msg)}:", "dim"))
                if len(changed) <= ONE_LINE:
                    return self._indented(msg, Text.assemble(head, " ", " · ".join(changed)))
                lines = [Padding(Text(line), (0, 0, 0, BODY_INDENT)) for line in changed]
                return self._indented(msg, Group(head, *lines))
            head = Text.assemble((f"~ updated #{n}", "yellow"), (f" ({summary(msg)})", "dim"))
            return self._indented(msg, Group(head, self._body(msg)))
        return self.message_renderable(msg, n)

    def message_renderable(self, msg: Message, number: int | None = None) -> RenderableType:
        n = number if number is not None else self.number(msg)
        head = Text.assemble(
            (f"#{n}", "bold"), " ", ("mlops-bot", "bold"), " ", (self.slack.channel_name(msg.channel), "dim")
        )
        if _is_reply(msg):
            parent_msg = self.slack.message(msg.channel, msg.thread_ts or "")
            parent = self.number(parent_msg) if parent_msg is not None else None
            head = Text.assemble("↳ ", head, (f" · reply to #{parent}", "dim") if parent else "")
        if msg.ephemeral_to is not None:
            who = "you" if msg.ephemeral_to == self.viewer() else self._name(msg.ephemeral_to)
            head.append(f" (only visible to {who})", style="dim italic")
        return self._indented(msg, Group(head, self._body(msg)))

    def changed_lines(self, old_blocks: list[JSON], old_text: str, msg: Message) -> list[str] | None:
        """The lines an update added or changed, or None when it is better shown whole."""
        before = self._plain_lines(old_blocks, old_text)
        after = self._plain_lines(msg.blocks, msg.text)
        matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
        kept = sum(block.size for block in matcher.get_matching_blocks())
        opcodes = [op for op in matcher.get_opcodes() if op[0] != "equal"]
        new = [line for _, _, _, j1, j2 in opcodes for line in after[j1:j2]]
        gone = [line for _, i1, i2, _, _ in opcodes for line in before[i1:i2]]
        if not new and gone:
            new = ["no longer shows " + " · ".join(gone)]
        if not new or len(new) > CHANGED_LINES_SHOWN or kept * 2 < len(before):
            return None
        return new

    def _plain_lines(self, blocks: list[JSON], text: str) -> list[str]:
        console = Console(file=io.StringIO(), width=self.console.width, color_system=None, emoji=False)
        with console.capture() as captured:
            console.print(self.renderer.render(blocks, text))
        lines = (line.strip(_FRAME) for line in captured.get().splitlines())
        return [line for line in lines if line]

    def show(self, number: int) -> RenderableType | None:
        """The whole of message ``#number`` as it is now, or None if there is no such message."""
        ref = self.find_number(number)
        msg = self.slack.message(*ref) if ref is not None else None
        if msg is None or msg.deleted or msg.ephemeral_to not in (None, self.viewer()):
            return None
        return self.message_renderable(msg, number)

    def _body(self, msg: Message) -> RenderableType:
        shown = self.renderer.render(msg.blocks, msg.text)
        if msg.files:  # a file share: its comment (if any), then one entry per file
            parts = [shown] if msg.text or msg.blocks else []
            shown = Group(*parts, *(line for doc in msg.files for line in self._file_lines(doc)))
        return Padding(shown, (0, 0, 0, BODY_INDENT), expand=False)

    def _file_lines(self, doc: JSON) -> list[Text]:
        """A shared file: its title and size, then where this workspace keeps it (folded, never cut)."""
        size = f" · {int(doc.get('size', 0)) / 1024:.0f} KB"
        path = self.slack.file_path(doc)
        where = f"  {path}" if path is not None else "  (kept in memory)"
        title = Text.assemble("📎 ", (str(doc.get("title") or doc.get("name", "")), "bold"), size)
        return [title, Text(where, overflow="fold")]

    def _indented(self, msg: Message, shown: RenderableType) -> RenderableType:
        return Padding(shown, (0, 0, 0, REPLY_INDENT), expand=False) if _is_reply(msg) else shown

    def _name(self, uid: str) -> str:
        user = self.slack.users.get(uid)
        return user.name if user else uid

    def view_renderable(self, event: SlackEvent) -> RenderableType:
        view = event.view
        assert view is not None
        if event.kind == "view_close":
            return Text(f"- closed modal “{_view_title(view)}”", style="dim")
        who = "" if view.user in (None, self.viewer()) else f" (for {self._name(view.user or '')})"
        verb = "updated modal" if event.kind == "view_update" else "modal"
        submit = text_object(view.view.get("submit")).plain
        close = text_object(view.view.get("close")).plain or "Cancel"
        footer = (f"[{submit}] " if submit else "") + f"[{close}]   (:submit key=value … or :cancel)"
        return Panel(
            Group(self.renderer.render(list(view.view.get("blocks") or [])), Text(footer, style="dim")),
            title=Text.assemble((f"{verb}: {_view_title(view)}", "bold"), (who, "dim")),
            title_align="left",
            expand=False,
        )

    def transcript(self) -> str:
        """The final state of every message, replies under their thread's parent, as printed text."""
        msgs = self.slack.messages()
        present = {(m.channel, m.ts) for m in msgs}
        replies: dict[tuple[str, str], list[Message]] = {}
        roots: list[Message] = []
        for m in msgs:
            if _is_reply(m) and (m.channel, m.thread_ts) in present:
                replies.setdefault((m.channel, m.thread_ts or ""), []).append(m)
            else:
                roots.append(m)
        with self.console.capture() as captured:
            for m in roots:
                self.console.print(self.message_renderable(m))
                if m.revision:
                    self.console.print(f"  (updated {m.revision} time{'s' * (m.revision > 1)})", style="dim")
                for r in replies.get((m.channel, m.ts), []):
                    self.console.print(self.message_renderable(r))
                self.console.print()
        return captured.get()


def _is_reply(msg: Message) -> bool:
    return bool(msg.thread_ts) and msg.thread_ts != msg.ts


def _view_title(view: View) -> str:
    return text_object(view.view.get("title")).plain or view.callback_id or view.id


__all__ = ["TranscriptPrinter"]
