"""Registry stages in the terminal chat: the card's line and ``/mlops status`` follow what the bot did."""

from __future__ import annotations

import io
import re
from pathlib import Path

from runtimes.terminal import main_shell


def test_the_chat_shows_each_versions_registry_stage(home: Path) -> None:
    script = ":as bob\n/mlops approve v1\n:wait\n:as carol\n/mlops status v1\n/mlops status\n"
    out, err = io.StringIO(), io.StringIO()
    code = main_shell(["--home", str(home), "--no-color"], stdin=io.StringIO(script), stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    text = " ".join(out.getvalue().replace("│", " ").split())  # the screen wraps lines, inside boxes too
    card, status = text.split("carol> /mlops status v1", 1)[1].split("carol> /mlops status", 1)
    assert "Registry stage 🧪 Staging/InProgress — Deployed to staging by bob via mlops-bot" in card
    assert re.search(r"v1 · Approved · .*stage Staging/InProgress", status), status[:1500]
    assert "changed outside mlops-bot" not in text  # the bot's own stage changes are not echoed
