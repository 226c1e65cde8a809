"""N-of-M approvals from the terminal chat and the CLI on one home: the same core path, the same line."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.users import USERS_FILE, load_users
from ml.local.endpoints import stop_host_process
from runtimes.cli import main
from runtimes.terminal import main_shell


@pytest.fixture
def quorum_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """v1 (alice's run) pending; alice and dave approve too; two approvals needed."""
    users = load_users(home)
    doc = {"users": {u.name: {"groups": list(u.groups)} for u in users.values()}}
    doc["users"]["dave"] = {"groups": ["ml-approvers"]}
    doc["users"]["alice"] = {"groups": ["ml-team", "ml-approvers"]}  # may approve, but not her own run
    (home / USERS_FILE).write_text(json.dumps(doc))
    monkeypatch.setenv("MLOPS_HOME", str(home))
    monkeypatch.setenv("MLOPS_REQUIRED_APPROVALS", "2")
    monkeypatch.delenv("MLOPS_USER", raising=False)
    return home


def chat(home: Path, script: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    code = main_shell(["--home", str(home), "--no-color"], stdin=io.StringIO(script), stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    return " ".join(out.getvalue().split())


def test_cli_and_chat_count_the_same_votes_and_say_the_same_line(
    quorum_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        assert main(["approve", "v1", "--as", "bob"]) == 0
        cli_out = capsys.readouterr().out
        line = "1 of 2 approvals: @bob ✓, waiting for one more"
        assert f"✓ Recorded your approval of v1: {line}." in cli_out

        shown = chat(quorum_home, ":as bob\n/mlops approve v1\n/mlops status v1\n")
        assert f"You already approved v1; it counts once: {line}." in shown
        assert line in shown.split("You already approved", 1)[1]  # the card /mlops status shows

        # the requester never counts, with the same words in both
        assert main(["approve", "v1", "--as", "alice"]) == 1
        err = capsys.readouterr().err
        said = chat(quorum_home, ":as alice\n/mlops approve v1\n")
        for words in ("Four-eyes rule:", "requested the training run of v1", "someone else must approve it."):
            assert words in err and words in said

        shown = chat(quorum_home, ":as dave\n/mlops approve v1\n")
        assert "Approved v1 (2 of 2 approvals: @bob ✓, @dave ✓)." in shown
        assert main(["status", "--json"]) == 0
        versions = json.loads(capsys.readouterr().out)["versions"]
        assert next(v for v in versions if v["version"] == 1)["approval"] == "Approved"
    finally:
        stop_host_process(quorum_home)
