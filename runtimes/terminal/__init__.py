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

Where things live: ``main`` (the ``shell`` subcommand), ``shell`` (script and prompt
input), ``commands`` (``:click``, ``:as``, slash commands, modals), ``session`` (wiring
and settling), ``payloads`` (requests as Slack sends them), ``screen`` (rich consoles, the
prompt), ``transcript``, ``blocks`` and ``markup`` (output as rich renderables: plain text
when piped, color only on a terminal), ``clicks`` and ``modals`` (resolving buttons and
filling in views), ``tracking`` (when Bolt's listeners are done), ``logs`` (log records to a file
under MLOPS_HOME, never into the chat).
"""

from runtimes.terminal.blocks import BlockRenderer, Button, buttons_of
from runtimes.terminal.clicks import Click, find_click, normalize_label
from runtimes.terminal.commands import HELP
from runtimes.terminal.errors import ShellError
from runtimes.terminal.logs import chat_logs
from runtimes.terminal.main import main_shell, use_color
from runtimes.terminal.markup import mrkdwn
from runtimes.terminal.modals import build_state, input_fields, parse_answers
from runtimes.terminal.payloads import signed_headers
from runtimes.terminal.screen import Screen, make_console
from runtimes.terminal.shell import Shell
from runtimes.terminal.tracking import TrackingExecutor, track_listeners
from runtimes.terminal.transcript import TranscriptPrinter

__all__ = [
    "HELP",
    "BlockRenderer",
    "Button",
    "Click",
    "Screen",
    "Shell",
    "ShellError",
    "TrackingExecutor",
    "TranscriptPrinter",
    "build_state",
    "buttons_of",
    "chat_logs",
    "find_click",
    "input_fields",
    "main_shell",
    "make_console",
    "mrkdwn",
    "normalize_label",
    "parse_answers",
    "signed_headers",
    "track_listeners",
    "use_color",
]
