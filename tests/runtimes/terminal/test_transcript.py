"""The transcript printer: posts, updates, threads, ephemerals and modals as they happen."""

from __future__ import annotations

import io
from pathlib import Path

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
    # the identical update printed nothing; the real one is one line naming what changed in #1
    assert [line for line in lines if line.startswith("~")] == [
        "~ #1 Model v1 · mlops-xgboost: no longer shows [1 Approve v1] [2 Reject…]"
    ]
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


def _printed(changes: list[tuple[str, list[dict[str, object]]]]) -> tuple[list[str], TranscriptPrinter]:
    out = io.StringIO()
    slack = LocalSlack().start()
    printer = TranscriptPrinter(slack, make_console(out, color=False, width=100), viewer=lambda: "UBOB")
    slack.subscribe(printer)
    client = slack.web_client()
    first_text, first_blocks = changes[0]
    posted = client.chat_postMessage(channel="#mlops", text=first_text, blocks=first_blocks)
    for text, blocks in changes[1:]:
        client.chat_update(channel=posted["channel"], ts=posted["ts"], text=text, blocks=blocks)
    return out.getvalue().splitlines(), printer


def _lines(*texts: str) -> list[dict[str, object]]:
    return [{"type": "header", "text": {"type": "plain_text", "text": "Model v2"}}] + [
        {"type": "section", "text": {"type": "mrkdwn", "text": t}} for t in texts
    ]


def test_a_change_is_one_line_and_show_prints_the_whole_message() -> None:
    before = _lines("⏳ PendingManualApproval", "Trained by <@UALICE>", "Run `r1`", "Registered today")
    approved = _lines(
        "✅ Approved", "Trained by <@UALICE>", "Run `r1`", "Registered today", "Approved by <@UBOB>"
    )
    lines, printer = _printed([("v2", before), ("v2", approved)])
    assert lines[-1] == "~ #1 Model v2: ✅ Approved · Approved by @bob"
    assert len([line for line in lines if "Trained by @alice" in line]) == 1  # not printed again
    with printer.console.capture() as shown:
        printer.console.print(printer.show(1))
    whole = shown.get()
    assert "#1 mlops-bot #mlops" in whole and "Approved by @bob" in whole and "Trained by @alice" in whole
    assert printer.show(2) is None
    printer.slack.close()


def test_a_larger_change_lists_its_lines_and_a_rewrite_shows_whole() -> None:
    start = _lines("a", "b", "c", "d", "e", "f")
    three = _lines("a", "b", "c", "D", "E", "F")
    rewritten = _lines("something else entirely")
    lines, printer = _printed([("m", start), ("m", three), ("m", rewritten)])
    at = lines.index("~ #1 Model v2:")
    assert lines[at + 1 : at + 4] == ["  D", "  E", "  F"]
    assert "~ updated #1 (Model v2)" in lines  # most lines changed: the whole message again
    assert lines[-2].strip() == "│ something else entirely │"
    printer.slack.close()


def test_a_shared_file_shows_its_title_size_and_where_it_is_kept(tmp_path: Path) -> None:
    out = io.StringIO()
    with LocalSlack(files_dir=tmp_path / "files") as slack:
        printer = TranscriptPrinter(slack, make_console(out, color=False, width=100), viewer=lambda: "UBOB")
        slack.subscribe(printer)
        client = slack.web_client()
        posted = client.chat_postMessage(channel="#mlops", text="Drift in production v1: drift")
        answer = client.files_upload_v2(
            channel=posted["channel"],
            thread_ts=posted["ts"],
            file=b"\x89PNG" + b"0" * 3000,
            filename="drift-production-v1.png",
            title="Drift · production v1",
        )
    path = tmp_path / "files" / f"{answer['file']['id']}-drift-production-v1.png"
    lines = out.getvalue().splitlines()
    assert "    ↳ #2 mlops-bot #mlops · reply to #1" in lines
    at = lines.index("      📎 Drift · production v1 · 3 KB")
    assert "".join(line.strip() for line in lines[at + 1 :]) == str(path)  # whole, however long
    assert path.read_bytes().startswith(b"\x89PNG")
