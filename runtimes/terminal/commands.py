"""The chat's commands: slash commands into the app, and ``:click``, ``:submit``, ``:cancel``, ``:as`` ..."""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import nullcontext
from typing import Any

from rich.text import Text

from runtimes.slack_local import SlackApiFault, View
from runtimes.terminal import payloads
from runtimes.terminal.blocks import JSON
from runtimes.terminal.clicks import find_click, normalize_label
from runtimes.terminal.errors import ShellError
from runtimes.terminal.markup import text_object
from runtimes.terminal.modals import build_state, field_state, input_fields, parse_answers
from runtimes.terminal.session import Session

SLASH_COMMAND = "/mlops"
#: How long a click waits for the modal its listener opens.
MODAL_WAIT_SECONDS = 5.0

HELP = f"""\
Type what you would type in Slack, or a shell command:
  {SLASH_COMMAND} <subcommand> ...   a slash command ({SLASH_COMMAND} help lists them)
  :click LABEL [vN] [text]   click the button labelled LABEL on the newest message that has it
                             (vN: on that version's card; text: fills the modal it opens, such
                             as an approval's comment or a rejection's reason)
  :click N | :click #M LABEL button number N of the newest message / a button of message #M
  :submit [key=value ...]    submit the open modal (plain text fills its first field)
  :cancel                    close the open modal without submitting
  :show #N                   message #N as it is now, whole (a change is shown as one line)
  :as NAME                   act as another user (:users lists them)
  :users                     users, their groups and roles
  :wait                      wait until background work (runs, deploys, notifications) settles
  :help                      this help
  :quit                      leave (Ctrl-D too)"""


class Commands:
    """Runs typed lines against a session: each one a Slack request, or a command of the chat itself."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def execute(self, line: str) -> bool:
        """Run one line. Returns False for ``:quit``; raises ShellError for a line that cannot run."""
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        self.session.sync_users()
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
                self.session.say(HELP)
            case "as":
                self.switch_user(rest)
            case "users" | "who":
                self.session.say(self.describe_users())
            case "wait":
                if not self.session.settle():
                    raise ShellError("background work did not settle in time")
            case "click":
                self.click(rest)
            case "submit":
                self.submit(rest)
            case "cancel":
                self.cancel()
            case "show":
                self.show(rest)
            case _:
                raise ShellError(
                    f"unknown command ':{name}'; shell commands: :click :submit :cancel :show :as :users "
                    ":wait :help :quit"
                )
        return True

    # -- who is typing ----------------------------------------------------------------------------
    def switch_user(self, name: str) -> None:
        s = self.session
        name = name.strip().lstrip("@")
        if not name:
            raise ShellError("usage: :as NAME  (" + ", ".join(s.users) + ")")
        if name not in s.users:
            raise ShellError(s.unknown_user(name))
        s.user = s.users[name]
        s.say(f"now acting as {s.describe(s.user)}", style="dim")

    def show(self, args: str) -> None:
        number = args.strip().removeprefix("#")
        if not number.isdigit():
            raise ShellError("usage: :show #N  (the number printed before a message, e.g. :show #4)")
        shown = self.session.printer.show(int(number))
        if shown is None:
            raise ShellError(f"there is no message #{number} you can see")
        self.session.say(shown)

    def describe_users(self) -> str:
        s = self.session
        return "\n".join(("* " if u is s.user else "  ") + s.describe(u) for u in s.users.values())

    # -- slash commands and buttons ---------------------------------------------------------------
    def slash(self, command: str, text: str) -> None:
        s = self.session
        if command != SLASH_COMMAND:
            raise ShellError(f"unknown slash command {command!r}; this app has {SLASH_COMMAND}")
        response_url = s.slack.response_url(s.channel, s.user.id)
        body = payloads.slash_command(s.slack, s.user, s.channel, command, text, response_url)
        with s.listeners.lazy_after_ack() if s.listeners is not None else nullcontext():
            response = s.dispatch(body, payloads.FORM)
            self._show_ack(command, response, response_url)
        self._await_modal(set())

    def _dispatch_payload(self, payload: JSON) -> Any:
        return self.session.dispatch(payloads.interaction_body(payload), payloads.FORM)

    def _show_ack(self, what: str, response: Any, response_url: str | None = None) -> None:
        s = self.session
        if response.status == 404:
            raise ShellError(f'{what} failed with the error "dispatch_failed" (no listener handled it)')
        if response.status >= 400:
            raise ShellError(f'{what} failed with the error "http_error_{response.status}"')
        body = payloads.json_body(response.body)
        if body is None and response.body:
            body = {"text": str(response.body)}
        if body:
            try:
                s.slack.post_ack(s.channel, s.user.id, body, response_url)
            except SlackApiFault as exc:  # the chat's file could not be written
                why = "; ".join(exc.messages) or exc.error
                raise ShellError(f"{what} was answered, but the answer could not be shown: {why}") from exc

    def click(self, args: str) -> None:
        s = self.session
        words = args.split()
        visible = s.slack.messages(visible_to=s.user.id)
        if words and words[0].startswith("#") and words[0][1:].isdigit():
            ref = s.printer.find_number(int(words[0][1:]))
            visible = [m for m in visible if (m.channel, m.ts) == ref]
            if not visible:
                raise ShellError(f"there is no message {words[0]} you can see")
            words = words[1:]
        target = find_click(visible, words)
        if target.button.confirm and not self._confirm(target.button.confirm):
            s.say("cancelled", style="dim")
            return
        before = {v.id for v in s.slack.views()}
        s.say(f"clicked [{target.button.label}] on #{s.printer.number(target.message)}", style="dim")
        payload = payloads.block_actions(s.slack, s.user, target.message, target.button)
        response = self._dispatch_payload(payload)
        if response.status == 404:
            raise ShellError("the click failed: no listener handled it")
        self._await_modal(before, target.rest)

    def _confirm(self, confirm: JSON) -> bool:
        s = self.session
        title = text_object(confirm.get("title"))
        text = text_object(confirm.get("text"), s.printer.renderer.names)
        yes = text_object(confirm.get("confirm")).plain or "Confirm"
        no = text_object(confirm.get("deny")).plain or "Cancel"
        title.stylize("bold")
        s.say(Text.assemble(("? ", "bold"), title, " ", text, f" [{yes}] [{no}]"))
        if not s.interactive:
            s.say(f"  → {yes}", style="dim")
            return True
        answer = input(f"  {yes}? [y/N] ").strip().casefold()
        return answer in ("y", "yes", normalize_label(yes))

    # -- modals -----------------------------------------------------------------------------------
    def _open_view(self) -> View | None:
        s = self.session
        views = [v for v in s.slack.views(open_only=True) if v.user in (None, s.user.id)]
        return views[-1] if views else None

    def _await_modal(self, before: set[str], rest: str = "") -> None:
        """A listener may open a modal (after ack): wait for it briefly, then fill it in."""
        s = self.session
        deadline = time.monotonic() + MODAL_WAIT_SECONDS
        view: View | None = None
        while time.monotonic() < deadline:
            new = [v for v in s.slack.views(open_only=True) if v.id not in before and v.user == s.user.id]
            if new:
                view = new[-1]
                break
            if s.listeners is not None and s.listeners.pending == 0 and not s.slack.busy:
                break
            time.sleep(0.02)
        if view is None:
            if rest:
                raise ShellError(f"the click opened no modal, so {rest!r} has nowhere to go")
            return
        if rest:
            self._submit_view(view, parse_answers(view.view, rest))
        elif s.interactive:
            self._prompt_view(view)
        elif all(f.optional for f in input_fields(view.view)):
            self._submit_view(view, {})  # a script that gave no text leaves optional fields empty

    def _prompt_view(self, view: View) -> None:
        s = self.session
        answers: dict[str, str] = {}
        for f in input_fields(view.view):
            while True:
                suffix = "" if f.optional else "*"
                if f.options:
                    for i, opt in enumerate(f.options, start=1):
                        s.say(f"    {i}. {(opt.get('text') or {}).get('text', opt.get('value'))}")
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
                    s.error(str(exc))
                    continue
                if not answer.strip() and not f.optional:
                    s.error(f"{f.label!r} is required (type :cancel to close the modal)")
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
        s = self.session
        current = s.slack.view(view.id) or view
        submitted = dict(current.view)
        submitted["state"] = build_state(current.view, answers)
        payload = payloads.view_submission(s.slack, s.user, submitted)
        before = {v.id for v in s.slack.views()}
        response = self._dispatch_payload(payload)
        if response.status == 404:
            raise ShellError("submitting the modal failed: no listener handled it")
        body = payloads.json_body(response.body) or {}
        action = body.get("response_action")
        if action == "errors":
            errors = body.get("errors") or {}
            lines = [f"  {k}: {v}" for k, v in errors.items()]
            s.error("the modal was not accepted:\n" + "\n".join(lines))
            if not s.interactive:
                raise ShellError(
                    "modal submission rejected: " + "; ".join(f"{k}: {v}" for k, v in errors.items())
                )
            self._prompt_view(current)
            return
        if action == "update" and isinstance(body.get("view"), dict):
            s.slack.replace_view(view.id, body["view"])
            return
        if action == "push" and isinstance(body.get("view"), dict):
            s.slack.push_view(s.user.id, body["view"])
            return
        s.slack.close_view(view.id)
        self._await_modal(before)

    def cancel(self) -> None:
        view = self._open_view()
        if view is None:
            raise ShellError("no modal is open")
        self.session.slack.close_view(view.id)
        if view.view.get("notify_on_close"):
            self._dispatch_payload(payloads.view_closed(self.session.user, view.view))


__all__ = ["HELP", "MODAL_WAIT_SECONDS", "SLASH_COMMAND", "Commands"]
