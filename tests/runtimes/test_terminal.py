"""The terminal chat: rendering, ``:click`` resolution, modals, and scripted sessions end to end."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runtimes.slack_local import LocalSlack, Message
from runtimes.terminal import (
    BlockRenderer,
    ShellError,
    Style,
    TranscriptPrinter,
    build_state,
    buttons_of,
    find_click,
    main_shell,
    mrkdwn,
    normalize_label,
    parse_answers,
    signed_headers,
)

REPO = Path(__file__).resolve().parents[2]
PLAIN = Style(False)


def card(version: int, *, pending: bool = True, promotable: bool = False) -> list[dict[str, Any]]:
    """A release card shaped like the bot's: header, fields, context, buttons carrying the version."""
    value = json.dumps({"v": version})
    buttons = []
    if pending:
        buttons += [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": f"Approve v{version}"},
                "action_id": "release_approve",
                "value": value,
                "style": "primary",
            },
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Reject…"},
                "action_id": "release_reject",
                "value": value,
                "style": "danger",
            },
        ]
    if promotable:
        buttons.append(
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Promote to production"},
                "action_id": "release_promote",
                "value": value,
                "confirm": {
                    "title": {"type": "plain_text", "text": "Promote to production?"},
                    "text": {"type": "mrkdwn", "text": f"Serve *v{version}* in production."},
                    "confirm": {"type": "plain_text", "text": "Promote"},
                    "deny": {"type": "plain_text", "text": "Cancel"},
                },
            }
        )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Model v{version} · mlops-xgboost"}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": "*Accuracy*\n0.872 (+0.004 vs v1)"},
                {"type": "mrkdwn", "text": "*F1*\n0.712"},
                {"type": "mrkdwn", "text": "*AUC*\n0.928"},
            ],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Trained by <@UALICE>"}]},
        {"type": "divider"},
    ]
    if buttons:
        blocks.append({"type": "actions", "block_id": f"card-v{version}", "elements": buttons})
    return blocks


def message(
    seq: int, blocks: list[dict[str, Any]], text: str = "", ephemeral_to: str | None = None
) -> Message:
    return Message(
        seq=seq, channel="C1", ts=f"1700000000.{seq:06d}", text=text, blocks=blocks, ephemeral_to=ephemeral_to
    )


# -- rendering -------------------------------------------------------------------------------------


def test_mrkdwn_resolves_styles_mentions_links_and_emoji() -> None:
    text = "*Approved* by <@UBOB> :white_check_mark: see <https://x.test/r|the run> `a*b*c` &lt;ok&gt;"
    out = mrkdwn(text, PLAIN, {"UBOB": "bob"})
    assert out == "Approved by @bob ✅ see the run (https://x.test/r) `a*b*c` <ok>"
    colored = mrkdwn("*bold* _it_", Style(True))
    assert "\x1b[1mbold\x1b[0m" in colored and "\x1b[3mit\x1b[0m" in colored


def test_escaped_text_shows_as_typed_in_mrkdwn_and_plain_text() -> None:
    # Slack decodes its three entities in every text object, and no other entity.
    assert mrkdwn("R&amp;D &lt;!channel&gt; &amp;lt; &copy;", PLAIN) == "R&D <!channel> &lt; &copy;"
    header = {"type": "header", "text": {"type": "plain_text", "text": "Alarm: A &amp; B &lt;x&gt;"}}
    assert BlockRenderer(PLAIN, {}, width=100).render([header]) == ["Alarm: A & B <x>"]


def test_block_renderer_lays_out_a_card() -> None:
    lines = BlockRenderer(PLAIN, {"UALICE": "alice"}, width=100).render(card(2))
    assert lines[0] == "Model v2 · mlops-xgboost"
    # fields two per row, left column padded to a common width
    assert lines[1].startswith("Accuracy") and lines[1].rstrip().endswith("F1")
    assert lines[2].index("0.712") == lines[1].index("F1")
    assert lines[3] == "AUC"
    assert "Trained by @alice" in lines
    assert lines[-1] == "[1 Approve v2] [2 Reject…]"


def test_colors_only_when_asked() -> None:
    plain = "\n".join(BlockRenderer(PLAIN).render(card(1)))
    colored = "\n".join(BlockRenderer(Style(True)).render(card(1)))
    assert "\x1b[" not in plain
    assert "\x1b[1m" in colored  # header bold
    assert "\x1b[2m" in colored  # context dim


def test_buttons_are_numbered_in_display_order() -> None:
    blocks = card(3, promotable=True)
    assert [(b.number, b.label, b.action_id) for b in buttons_of(blocks)] == [
        (1, "Approve v3", "release_approve"),
        (2, "Reject…", "release_reject"),
        (3, "Promote to production", "release_promote"),
    ]


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


# -- :click resolution -------------------------------------------------------------------------------


def test_click_finds_the_newest_message_with_the_label() -> None:
    msgs = [message(1, card(1)), message(2, card(2))]
    click = find_click(msgs, ["Reject"])
    assert click.message.seq == 2 and click.button.action_id == "release_reject"
    assert find_click(msgs, ["approve", "v1"]).message.seq == 1  # label that names the version


def test_click_with_a_version_picks_that_versions_card() -> None:
    msgs = [message(1, card(1, promotable=True)), message(2, card(2, promotable=True))]
    click = find_click(msgs, ["Promote", "v1"])
    assert click.message.seq == 1 and click.button.label == "Promote to production"
    reject = find_click(msgs, ["Reject", "v1", "metrics", "regressed"])
    assert reject.message.seq == 1
    assert reject.rest == "metrics regressed"


def test_click_by_number_and_clear_errors() -> None:
    msgs = [message(1, card(1))]
    assert find_click(msgs, ["2"]).button.label == "Reject…"
    with pytest.raises(ShellError, match=r"buttons 1 to 2"):
        find_click(msgs, ["5"])
    with pytest.raises(ShellError, match=r"no button labelled 'Aprove'.*'Approve v1'"):
        find_click(msgs, ["Aprove"])
    with pytest.raises(ShellError, match="no message with buttons"):
        find_click([message(1, [])], ["Approve"])
    assert normalize_label(":white_check_mark: Reject…") == "reject"


# -- modals ----------------------------------------------------------------------------------------

MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "deploy",
    "title": {"type": "plain_text", "text": "Deploy"},
    "submit": {"type": "plain_text", "text": "Go"},
    "blocks": [
        {
            "type": "input",
            "block_id": "reason",
            "label": {"type": "plain_text", "text": "Reason"},
            "element": {"type": "plain_text_input", "action_id": "reason_input"},
        },
        {
            "type": "input",
            "block_id": "env",
            "label": {"type": "plain_text", "text": "Environment"},
            "element": {
                "type": "static_select",
                "action_id": "env_select",
                "options": [
                    {"text": {"type": "plain_text", "text": "Staging"}, "value": "staging"},
                    {"text": {"type": "plain_text", "text": "Production"}, "value": "production"},
                ],
            },
        },
        {
            "type": "input",
            "block_id": "note",
            "optional": True,
            "label": {"type": "plain_text", "text": "Note"},
            "element": {"type": "plain_text_input", "action_id": "note_input"},
        },
    ],
}


def test_submit_answers_build_slack_state_values() -> None:
    answers = parse_answers(MODAL, "reason=metrics regressed badly env=Production")
    assert answers == {"reason": "metrics regressed badly", "env": "Production"}
    state = build_state(MODAL, answers)
    assert state["values"]["reason"]["reason_input"] == {
        "type": "plain_text_input",
        "value": "metrics regressed badly",
    }
    assert state["values"]["env"]["env_select"]["selected_option"]["value"] == "production"
    assert state["values"]["note"]["note_input"]["value"] is None
    with pytest.raises(ShellError, match=r"required field.*'Environment'"):
        build_state(MODAL, {"reason": "x"})
    with pytest.raises(ShellError, match="no option 'qa'"):
        build_state(MODAL, {"reason": "x", "env": "qa"})
    with pytest.raises(ShellError, match="unknown field 'colour'"):
        parse_answers(MODAL, "colour=blue")


def test_plain_text_fills_a_single_field_modal() -> None:
    single = dict(MODAL, blocks=MODAL["blocks"][:1])
    assert parse_answers(single, "not good enough") == {"reason": "not good enough"}


def test_signed_headers_verify_with_slack_sdk() -> None:
    from slack_sdk.signature import SignatureVerifier

    headers = signed_headers("s3cret", "a=1", "application/x-www-form-urlencoded")
    assert SignatureVerifier("s3cret").is_valid(
        body="a=1", timestamp=headers["x-slack-request-timestamp"], signature=headers["x-slack-signature"]
    )


# -- scripted sessions -------------------------------------------------------------------------------


def run_cli(
    args: list[str], script: str, home: Path, timeout: float = 420
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, MLOPS_HOME=str(home), NO_COLOR="1")
    env.pop("MLOPS_USER", None)
    return subprocess.run(
        args, input=script, capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO, check=False
    )


def mlops_bot() -> list[str]:
    """The ``mlops-bot`` command, run from this source tree (an installed script may be older)."""
    return [sys.executable, "-m", "runtimes.cli"]


@pytest.fixture
def empty_home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "home"
    yield home
    shutil.rmtree(home, ignore_errors=True)


def test_a_bad_line_stops_the_script_with_a_clear_message(empty_home: Path) -> None:
    script = "/mlops help\n:frobnicate now\n/mlops status\n"
    code = "import sys; from runtimes.terminal import main_shell; sys.exit(main_shell([]))"
    proc = run_cli([sys.executable, "-c", code], script, empty_home, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "line 2: unknown command ':frobnicate'" in proc.stderr
    assert "alice> /mlops help" in proc.stdout
    assert "/mlops commands" in proc.stdout  # the help answer was rendered
    assert "alice> /mlops status" not in proc.stdout  # nothing runs after the failing line


def test_unknown_users_and_buttons_fail_in_process(empty_home: Path) -> None:
    err = io.StringIO()
    out = io.StringIO()
    code = main_shell(["--home", str(empty_home)], stdin=io.StringIO(":as mallory\n"), stdout=out, stderr=err)
    assert code == 1
    assert "unknown user 'mallory'; users: alice, bob, carol, erin" in err.getvalue()
    err = io.StringIO()
    code = main_shell(
        ["--home", str(empty_home)], stdin=io.StringIO(":click Approve v9\n"), stdout=out, stderr=err
    )
    assert code == 1
    assert "no message with buttons yet" in err.getvalue()
    err = io.StringIO()
    code = main_shell(
        ["--home", str(empty_home), "--as", "zoe"], stdin=io.StringIO(""), stdout=out, stderr=err
    )
    assert code == 2
    assert "unknown user 'zoe'" in err.getvalue()


def test_scripted_release_through_the_cli(home: Path) -> None:
    """v1 (trained by alice) is approved, promoted by button, then v2 is trained and rejected in a modal."""
    script = "\n".join(
        [
            ":as bob",
            "/mlops approve v1",
            ":as carol",
            ":click Promote v1",
            ":as alice",
            "/mlops train num_round=20",
            ":as bob",
            ":click Reject v2 worse than v1",
            "/mlops status",
        ]
    )
    proc = run_cli([*mlops_bot(), "shell", "--home", str(home)], script + "\n", home)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "bob> /mlops approve v1" in out
    assert "Promote to production? Serve v1 in production." in out
    assert "Promoted v1 to production." in out
    assert "┌ modal: Reject v2" in out
    assert "Rejected v2: worse than v1" in out
    status = out[out.rindex("bob> /mlops status") :]
    assert "production" in status and "serves v1" in status
    assert "v2 · Rejected" in status


def test_demo_runs_a_full_release_and_rolls_back(empty_home: Path) -> None:
    proc = run_cli([*mlops_bot(), "demo", "--home", str(empty_home)], "", empty_home, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "carol> /mlops rollback production" in out
    assert "Rolled back production to v1 (was v2)." in out
    assert "── transcript (final state of each message) ──" in out
    assert "demo passed: production serves v1 after the rollback" in out
