"""The transcript printer: posts, updates, threads, ephemerals and modals as they happen."""

from __future__ import annotations

import io

from runtimes.slack_local import LocalSlack
from runtimes.terminal import TranscriptPrinter, make_console
from tests.runtimes.terminal.cards import card
from tests.runtimes.terminal.test_modals import MODAL


def test_transcript_printer_shows_posts_updates_threads_and_ephemerals() -> None:
    out = io.StringIO()
    with LocalSlack() as slack:
        printer = TranscriptPrinter(slack, make_console(out, color=False, width=100), viewer=lambda: "UBOB")
        slack.subscribe(printer)
        client = slack.web_client()
        posted = client.chat_postMessage(channel="#mlops", text="Model v1", blocks=card(1))
        client.chat_postMessage(channel="#mlops", text="Approved v1 — <@UBOB>", thread_ts=posted["ts"])
        client.chat_update(channel=posted["channel"], ts=posted["ts"], text="Model v1", blocks=card(1))
        client.chat_update(
            channel=posted["channel"], ts=posted["ts"], text="done", blocks=card(1, pending=False)
        )
        client.chat_postEphemeral(channel="#mlops", user="UBOB", text="Approved v1.")
        client.chat_postEphemeral(channel="#mlops", user="UCAROL", text="for carol")
        transcript = printer.transcript()
    printed = out.getvalue()
    lines = printed.splitlines()
    assert "\x1b[" not in printed + transcript  # piped: plain text
    assert all(line == line.rstrip() for line in lines)  # no padding to the console's width
    assert lines[0] == "#1 mlops-bot #mlops"
    assert lines[1].startswith("  ╭─ Model v1 · mlops-xgboost ─")
    assert "[1 Approve v1] [2 Reject…]" in printed
    # a thread reply is indented under its parent and names it
    assert "    ↳ #2 mlops-bot #mlops · reply to #1" in lines
    assert "      Approved v1 — @bob" in lines
    # the identical update printed nothing; the real one is marked as an update of #1
    assert sum(1 for line in lines if line.startswith("~ updated")) == 1
    assert "~ updated #1 (Model v1 · mlops-xgboost)" in lines
    assert "#3 mlops-bot #mlops (only visible to you)" in lines
    assert "#4 mlops-bot #mlops (only visible to carol)" in lines
    assert "  (updated 2 times)" in transcript
    assert transcript.index("#2 mlops-bot") > transcript.index("#1 mlops-bot")
    assert "Approve v1" not in transcript  # the final card has no buttons left


def test_a_modal_shows_as_a_panel_with_its_buttons_and_how_to_answer() -> None:
    out = io.StringIO()
    modal = dict(MODAL, blocks=MODAL["blocks"][:1])  # one required text input
    with LocalSlack() as slack:
        printer = TranscriptPrinter(slack, make_console(out, color=False, width=100), viewer=lambda: "UBOB")
        slack.subscribe(printer)
        view = slack.web_client().views_open(trigger_id=slack.issue_trigger("UBOB"), view=modal)["view"]
        slack.close_view(view["id"])
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("╭─ modal: Deploy ─")
    assert "│ Reason* (plain text input)" in lines[1]
    assert "│ [Go] [Cancel]   (:submit key=value … or :cancel)" in lines[2]
    assert lines[3].startswith("╰─")
    assert lines[4] == "- closed modal “Deploy”"
