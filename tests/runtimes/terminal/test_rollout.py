"""Progressive delivery in the terminal chat: a promote's rollout in its confirmation, ``rollout stop``
answered in words, a bad rollout explained, the live rollout message updated in place."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from handlers.render.rollout import render_rollout
from ml.rollout_state import AlarmState
from runtimes.slack_local import LocalSlack
from runtimes.terminal import TranscriptPrinter, make_console
from tests.runtimes.terminal.test_session import _no_user_from_env, chat
from tests.scripted_rollout import ALARM_5XX, START, progress

__all__ = ["_no_user_from_env"]  # the fixture, used by name


def test_a_promote_with_a_rollout_and_the_rollout_commands_in_the_chat(home: Path) -> None:
    script = "\n".join(
        [
            ":as bob",
            "/mlops approve v1",
            ":wait",
            ":as carol",
            "/mlops promote v1 canary 80% 5m",
            ":wait",
            "/mlops promote v1 canary 5% 10m",
            ":wait",
            ":click Confirm",
            ":wait",
            "/mlops rollout stop production",
            ":wait",
            "/mlops help",
            ":wait",
            "",
        ]
    )
    code, out, err = chat(home, script)
    assert code == 0, err + out
    said = " ".join(out.split())
    assert "a canary is 1% to 50% of capacity, not 80%" in said
    assert "Rollout (chosen for this promote): canary 5% for 10m, then 100%; guarded by alarms" in said
    assert "Promoted v1 to production" in said
    assert "No rollout is running on production: there has been none. Nothing changed." in said
    assert "/mlops rollout stop staging|production" in said


def test_the_chat_shows_the_live_rollout_message_and_its_changes_in_place() -> None:
    out = io.StringIO()
    now = START + timedelta(seconds=30)
    with LocalSlack() as slack:
        printer = TranscriptPrinter(slack, make_console(out, color=False, width=110), viewer=lambda: "UCAROL")
        slack.subscribe(printer)
        client = slack.web_client()
        text, blocks = render_rollout(progress(invocations=40), now)
        posted = client.chat_postMessage(channel="#mlops", text=text, blocks=blocks)
        alarm = AlarmState(ALARM_5XX, "ALARM", "6 errors in 12 invocations")
        text, blocks = render_rollout(progress(invocations=80, errors=6, alarm=alarm), now)
        client.chat_update(channel=posted["channel"], ts=posted["ts"], text=text, blocks=blocks)
        ended = progress("rolled-back", 0, errors=6, alarm=alarm, verdict=f"alarm {ALARM_5XX}")
        text, blocks = render_rollout(ended, now)
        client.chat_update(channel=posted["channel"], ts=posted["ts"], text=text, blocks=blocks)
    printed = " ".join(out.getvalue().split())
    assert "canary 10 %, baking 2:50 left · 7:50 left in all" in printed
    assert "[1 Stop and roll back] [2 Finish now]" in printed
    changes = [line for line in out.getvalue().splitlines() if line.startswith("~")]
    # one message, updated in place: the change of counts, then the ending
    assert len(changes) == 2 and changes[0].startswith("~ #1 ") and changes[1].startswith("~ updated #1 ")
    assert "#2 mlops-bot" not in printed
    assert f"Rolled back automatically: alarm {ALARM_5XX}." in printed
