"""The chat's log records go to a rotating file under MLOPS_HOME, never to the terminal."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from runtimes.terminal import chat_logs
from runtimes.terminal import logs as chat_logs_module


def test_records_go_to_the_file_and_console_handlers_are_set_aside(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    console = logging.StreamHandler(sys.stderr)  # what logging.basicConfig would have installed
    root.addHandler(console)
    try:
        with chat_logs(tmp_path) as path:
            assert console not in root.handlers
            logging.getLogger("bot.notify").warning("Slack message for card:v2 is gone")
            logging.getLogger("ml.local.runs").info("started a run")
            logging.getLogger("slack_sdk").debug("below the level")
        assert console in root.handlers  # put back afterwards
    finally:
        root.removeHandler(console)
    assert path == tmp_path / "logs" / "mlops-bot.log"
    text = path.read_text()
    assert "WARNING bot.notify [MainThread]: Slack message for card:v2 is gone" in text
    assert "INFO ml.local.runs" in text and "below the level" not in text
    assert "is gone" not in capsys.readouterr().err


def test_the_file_is_rotated_and_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chat_logs_module, "LOG_MAX_BYTES", 2_000)
    log = logging.getLogger("runtimes.terminal.test")
    with chat_logs(tmp_path) as path:
        for i in range(200):
            log.warning("line %03d %s", i, "x" * 50)
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["mlops-bot.log", "mlops-bot.log.1", "mlops-bot.log.2", "mlops-bot.log.3"]
    assert all(p.stat().st_size <= 2_000 for p in path.parent.iterdir())
    assert "line 199" in path.read_text()
