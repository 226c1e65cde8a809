"""A damaged bot.db or registry.db stops the CLI and the server with one line that says what to do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.store.sqlite import CorruptStore, SQLiteStore
from ml.dbfile import CorruptDatabase
from ml.local.registry import Registry
from runtimes.cli import main
from tests import paths

ROOT = paths.ROOT
GARBAGE = b"this is not what SQLite wrote\n" * 200


def test_corrupt_store_file_is_named_with_the_way_out(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    path.write_bytes(GARBAGE)
    with pytest.raises(CorruptStore) as caught:
        SQLiteStore(path)
    message = str(caught.value)
    assert message.startswith(f"{path} is not a valid SQLite database (file is not a database)")
    assert "move it aside and restart" in message and "audit trail" in message
    assert path.read_bytes() == GARBAGE  # nothing was changed


def test_corrupt_registry_file_is_named_with_the_way_out(tmp_path: Path) -> None:
    path = tmp_path / "registry.db"
    path.write_bytes(GARBAGE)
    with pytest.raises(CorruptDatabase, match=r"registry\.db is not a valid SQLite database.*move it aside"):
        Registry(path)
    assert path.read_bytes() == GARBAGE


@pytest.mark.parametrize(("name", "held"), [("bot.db", "audit trail"), ("registry.db", "model versions")])
def test_cli_status_says_one_line_and_exits_1(
    tmp_path: Path, name: str, held: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLOPS_STORE_PATH", raising=False)
    monkeypatch.setenv("MLOPS_STORE", "sqlite")
    monkeypatch.setenv("MLOPS_BACKEND", "local")
    (tmp_path / name).write_bytes(GARBAGE)
    code = main(["status", "--home", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(
        f"mlops-bot: {tmp_path / name} is not a valid SQLite database (file is not a database)"
    )
    assert held in err and out == ""


def test_server_start_up_says_one_line_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "bot.db").write_bytes(GARBAGE)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "MLOPS_HOME": str(tmp_path),
        "MLOPS_STORE": "sqlite",
        "MLOPS_BACKEND": "local",
        "SLACK_SIGNING_SECRET": "s3cret",
        "SLACK_BOT_TOKEN": "xoxb-test",
    }
    env.pop("MLOPS_STORE_PATH", None)
    done = subprocess.run(
        [sys.executable, "-m", "runtimes.cli", "serve", "--host", "127.0.0.1", "--port", "0"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines == [
        f"mlops-bot: {tmp_path / 'bot.db'} is not a valid SQLite database (file is not a database); "
        "move it aside and restart — the audit trail in it cannot be read"
    ]
