"""Registry stages from ``mlops-bot``: the same stages the chat shows, in text and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.runtimes.cli.conftest import run


def test_status_shows_the_stage_each_action_set(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "approve", "v1", "--as", "bob")[0] == 0
    code, out, err = run(capsys, "status", "v1")
    assert code == 0, err
    assert "registry stage: Staging/InProgress — Deployed to staging by bob via mlops-bot" in out

    assert run(capsys, "promote", "1", "--as", "carol", "--yes")[0] == 0
    code, out, err = run(capsys, "status", "--json")
    assert code == 0, err
    stages = {v["version"]: v["stage"] for v in json.loads(out)["versions"]}
    assert stages[1] == {
        "Stage": "Production",
        "StageStatus": "Approved",
        "StageDescription": "Promoted to production by carol via mlops-bot",
    }
    code, out, err = run(capsys, "status")
    assert code == 0 and "stage: Production/Approved" in out
