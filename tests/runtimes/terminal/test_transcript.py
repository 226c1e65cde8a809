"""The transcript printer: posts, updates, threads and ephemerals as they happen."""

from __future__ import annotations

import io

from runtimes.slack_local import LocalSlack
from runtimes.terminal import Style, TranscriptPrinter
from tests.runtimes.terminal.cards import card

PLAIN = Style(False)


def test_transcript_printer_shows_posts_updates_threads_and_ephemerals() -> None:
    out = io.StringIO()
    with LocalSlack() as slack:
        printer = TranscriptPrinter(slack, out, PLAIN, viewer=lambda: "UBOB", width=100)
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
    lines = out.getvalue().splitlines()
    assert lines[0] == "#1 mlops-bot #mlops"
    assert "    │ ↳ #2 mlops-bot #mlops · reply to #1" in lines
    assert "    │   Approved v1 — @bob" in lines
    # the identical update printed nothing; the real one is marked as an update of #1
    assert sum(1 for line in lines if line.startswith("~ updated")) == 1
    assert "~ updated #1 (Model v1 · mlops-xgboost)" in lines
    assert "#3 mlops-bot #mlops (only visible to you)" in lines
    assert "#4 mlops-bot #mlops (only visible to carol)" in lines
    assert "  (updated 2 times)" in transcript
    assert transcript.index("#2 mlops-bot") > transcript.index("#1 mlops-bot")
