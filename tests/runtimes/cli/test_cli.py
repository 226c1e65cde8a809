"""The release CLI: same core, same policy, exit codes and JSON output."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import wait_for_process
from tests.runtimes.cli.conftest import run, usage_error

pytestmark = pytest.mark.long


def test_release_through_the_cli(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "approve", "v1", "--as", "alice")
    assert code == 1 and "approver" in err  # alice is a trainer, not an approver

    code, out, err = run(capsys, "approve", "v1", "looks", "good", "--as", "bob", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["outcome"] == "done"
    assert [f["action"] for f in doc["followups"]] == ["deploy", "validate"]

    code, out, err = run(capsys, "promote", "1", "--as", "carol", "--yes")
    assert code == 0, err
    assert "Promoted v1 to production" in out

    code, out, err = run(capsys, "status", "--json")
    assert code == 0
    status = json.loads(out)
    assert status["environments"]["production"]["version"] == 1
    assert status["environments"]["staging"]["version"] == 1

    code, out, err = run(capsys, "promote", "1", "--as", "carol")
    assert code == 0 and "already serves v1" in out

    code, out, err = run(capsys, "history", "production")
    assert code == 0 and "promote" in out and "carol" in out

    code, out, err = run(capsys, "audit", "10", "--json")
    entries = json.loads(out)
    assert {e["actor_name"] for e in entries} >= {"alice", "bob", "carol"}


def test_the_endpoint_outlives_the_command(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "approve", "v1", "--as", "bob")[0] == 0
    # a fresh process (the CLI has exited) still reaches the staging endpoint
    code = subprocess.run(
        [sys.executable, "-m", "runtimes.cli", "validate", "v1", "--as", "carol"],
        env={**os.environ, "MLOPS_HOME": str(cli_home)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert code.returncode == 0, code.stderr
    assert "passed" in code.stdout


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["approve", "vX", "--as", "bob"], "not a model version"),
        (["rollback", "prod", "--as", "carol"], "not an environment"),
        (["train", "max_depth", "--as", "alice"], "not key=value"),
    ],
)
def test_usage_errors_exit_2(
    cli_home: Path, argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert expected in usage_error(argv, capsys)


def test_unknown_user_and_missing_actor(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "approve", "v1", "--as", "mallory")
    assert code == 2 and "unknown user 'mallory'" in err and "alice" in err
    code, _, err = run(capsys, "approve", "v1")
    assert code == 2 and "--as NAME" in err


def test_refusals_exit_1_with_one_line(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "train", "max_dept=3", "--as", "alice")
    assert code == 1 and "max_depth" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "rollback", "production", "v1", "--as", "carol")
    assert code == 1 and "production" in err


def test_train_no_wait_keeps_running_after_the_command(
    cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "train", "num_round=20", "--no-wait", "--as", "alice", "--json")
    assert code == 0, err
    run_id = json.loads(out)["data"]["execution_id"]

    def finished() -> dict[str, Any] | None:
        _, out, _ = run(capsys, "status", "--json")
        runs = {e["id"]: e for e in json.loads(out)["executions"]}
        return runs if runs[run_id]["status"] != "Executing" else None

    # the run goes on in a detached process, which tells this one nothing
    runs = wait_for_process(finished, f"run {run_id} to end", 180)
    assert runs[run_id]["status"] == "Succeeded", runs[run_id]
    assert runs[run_id]["model_version"] == 2


def test_a_reader_that_goes_away_ends_the_output_quietly(cli_home: Path) -> None:
    env = {**os.environ, "MLOPS_HOME": str(cli_home)}
    command = [sys.executable, "-m", "runtimes.cli", "status", "--json"]
    # A real pipe whose reader is gone before anything is written: every write meets EPIPE.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        closed = subprocess.run(
            command, stdout=write_end, stderr=subprocess.PIPE, env=env, text=True, timeout=120, check=False
        )
    finally:
        os.close(write_end)
    assert closed.stderr == ""  # no BrokenPipeError traceback, no "Exception ignored" note
    assert closed.returncode == 141  # as a shell reports a command ended by SIGPIPE

    # The way people hit it: a pipeline whose reader stops after the first line.
    piped = subprocess.run(
        ["/bin/sh", "-c", " ".join(f"'{a}'" for a in command) + " | head -1"],
        capture_output=True,
        env=env,
        text=True,
        timeout=120,
        check=False,
    )
    assert piped.returncode == 0 and piped.stdout == "{\n"
    assert piped.stderr == ""


class Terminal(io.StringIO):
    """stdin of a person at a terminal."""

    def isatty(self) -> bool:
        return True


def test_promote_and_rollback_ask_first(
    cli_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(capsys, "approve", "v1", "--as", "bob")[0] == 0
    endpoint = "mlops-xgboost-production"
    # piped, without --yes: refused, nothing changed
    code, out, err = run(capsys, "promote", "v1", "--as", "carol")
    assert code == 1 and out == ""
    assert f"Promote v1 to production: endpoint {endpoint} goes from no model to v1." in err
    assert "Add --yes to confirm without a terminal; nothing changed." in err
    assert json.loads(run(capsys, "status", "--json")[1])["environments"]["production"]["version"] is None
    # at a terminal: asked, and only "y" goes ahead
    asked: list[str] = []
    monkeypatch.setattr("sys.stdin", Terminal())
    answers = iter(["n", "y"])
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or next(answers))
    code, _, err = run(capsys, "promote", "v1", "--as", "carol")
    assert code == 1 and "not confirmed; nothing changed" in err
    code, out, err = run(capsys, "promote", "v1", "--as", "carol")
    assert code == 0 and "Promoted v1 to production" in out, err
    alarms = f"{endpoint}-new-variant-5xx, {endpoint}-new-variant-p99-latency"
    question = (
        f"Promote v1 to production: endpoint {endpoint} goes from no model to v1. "
        f"Rollout: all-at-once bake 0s; guarded by {alarms}. Continue? [y/N] "
    )
    assert asked == [question] * 2
    # a refusal is not asked about: nothing would change
    code, out, _ = run(capsys, "promote", "v1", "--as", "carol")
    assert code == 0 and "already serves v1" in out and len(asked) == 2
    audit = json.loads(run(capsys, "audit", "10", "--json")[1])
    assert [e["outcome"] for e in audit if e["action"] == "promote"] == ["noop", "done"]
