"""The terminal chat end to end: scripted sessions through ``main_shell``, the CLI and the demo."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ml import datasets
from ml.local.source import code_root, detect
from runtimes.cli.args import build_parser as cli_parser
from runtimes.terminal import main_shell, use_color
from tests import paths

pytestmark = pytest.mark.long

REPO = paths.ROOT


def run_cli(
    args: list[str], script: str, home: Path, timeout: float = 420, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, MLOPS_HOME=str(home), NO_COLOR="1", **extra_env)
    env.pop("MLOPS_USER", None)
    return subprocess.run(
        args, input=script, capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO, check=False
    )


def succeeded(proc: subprocess.CompletedProcess[str]) -> str:
    """The output of a run that must exit 0; the tail of both streams otherwise."""
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


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


def test_the_audit_log_in_the_chat_shows_whole_ids_and_narrows(empty_home: Path) -> None:
    run_arn = (
        "arn:aws:sagemaker:eu-west-1:123456789012:pipeline/mlops-xgboost-pipeline/execution/q7w8e9r0t1y2"
    )
    script = "\n".join(
        [
            ":as erin",
            "/mlops approve v1",  # refused: erin is no approver (audited)
            ":as alice",
            f"/mlops stop {run_arn}",  # refused: no such run (audited, with the id as given)
            "/mlops audit stop",
            "/mlops audit @erin",
            "/mlops audit 5 v1 @erin approve",
            "/mlops audit 5 v1 @alice",
            "/mlops audit aprove",
        ]
    )
    out, err = io.StringIO(), io.StringIO()
    code = main_shell(["--home", str(empty_home)], stdin=io.StringIO(script + "\n"), stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    answers = out.getvalue().split("alice> /mlops audit")[1:]
    stop, erin, combined, nothing, typo = (" ".join(a.replace("│", " ").split()) for a in answers)
    # the run id is whole (the chat wraps long lines; the id is one code span in the message)
    assert "".join(stop.split()).count(f"`execution:{run_arn}`") == 1 and "approve" not in stop
    assert "Only action stop" in stop and "Audit log (newest 1)" in stop
    assert "Only by erin" in erin and "@erin approve `v1` refused" in erin and "stop" not in erin
    assert "Only version v1 · by erin · action approve" in combined and "Audit log (newest 1)" in combined
    assert "No audit entries match version v1 · by alice." in nothing
    assert "`aprove` is not an action the audit log records. Valid actions: status," in typo
    assert "Did you mean `/mlops audit approve`?" in typo


def test_scripted_release_through_the_cli(home: Path) -> None:
    """v1 (trained by alice) is approved; a typed promote asks first (cancelled), the button promotes; then v2
    is trained and rejected in a modal."""
    script = "\n".join(
        [
            ":as bob",
            "/mlops approve v1",
            ":as carol",
            "/mlops promote v1",  # typed: asks first, like the button
            ":click Cancel",
            ":click Promote v1",
            ":click Confirm",
            ":as alice",
            "/mlops train num_round=20 InputData=adult-sample.data",
            ":as bob",
            ":click Reject v2 worse than v1",
            "/mlops status",
        ]
    )
    datasets.write_adult_sample(home / "data" / "adult-sample.data")  # under the default data directory
    out = succeeded(run_cli([*mlops_bot(), "shell", "--home", str(home)], script + "\n", home))
    assert "bob> /mlops approve v1" in out
    assert "goes from no model to v1." in out and "Confirm: promote v1 to production]" in out
    assert "Promote cancelled; nothing changed." in out
    assert "clicked [Promote v1 to production…]" in out  # the button asks the same question
    assert out.count("goes from no model to v1.") == 2
    assert "Promoted v1 to production." in out
    assert "╭─ modal: Reject v2" in out
    assert "Rejected v2: worse than v1" in out
    status = out[out.rindex("bob> /mlops status") :]
    assert "production" in status and "serves v1" in status
    assert "v2 · Rejected" in status


def test_color_only_on_a_terminal_and_never_when_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert use_color("auto", Tty()) and not use_color("auto", io.StringIO())
    assert not use_color("never", Tty()) and use_color("always", io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color("auto", Tty())
    assert cli_parser().parse_args(["shell", "--no-color"]).no_color is True


def test_always_colored_output_carries_styles_and_piped_output_none(empty_home: Path) -> None:
    script = "/mlops help\n"
    colored, piped = io.StringIO(), io.StringIO()
    args = ["--home", str(empty_home)]
    assert main_shell([*args, "--color", "always"], stdin=io.StringIO(script), stdout=colored) == 0
    assert main_shell([*args, "--no-color"], stdin=io.StringIO(script), stdout=piped) == 0
    assert "\x1b[1m" in colored.getvalue()
    assert "\x1b[" not in piped.getvalue()
    assert "alice> /mlops help" in piped.getvalue() and "/mlops commands" in piped.getvalue()


def test_every_working_line_is_replaced_by_its_answer(home: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    script = ":as bob\n/mlops approve v9\n/mlops approve v1\n:show #1\n:show #2\n"
    assert main_shell(["--home", str(home)], stdin=io.StringIO(script), stdout=out, stderr=err) == 0, (
        err.getvalue()
    )
    lines = out.getvalue().splitlines()
    working = [line.split()[0] for line in lines if line.startswith("#") and "(only visible to you)" in line]
    assert working[:2] == ["#1", "#2"]  # each command's ack: a "working" line
    for number in ("#1", "#2"):
        shown = lines.index(f"bob> :show {number}")
        assert "Working on" not in lines[shown + 2]  # what the message says now: its answer
    assert "model version v9 does not exist" in lines[lines.index("bob> :show #1") + 2]
    assert "Approved v1" in lines[lines.index("bob> :show #2") + 2]


def test_a_validation_in_the_chat_shows_its_rows_interval_and_the_two_accuracies(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bob approves v1: staging deploy and validation follow, 60 rows as MLOPS_VALIDATION_ROWS asks."""
    monkeypatch.setenv("MLOPS_VALIDATION_ROWS", "60")
    script = ":as bob\n/mlops approve v1\n:wait\n:as carol\n/mlops status v1\n"
    out = io.StringIO()
    assert main_shell(["--home", str(home), "--no-color"], stdin=io.StringIO(script), stdout=out) == 0
    text = " ".join(out.getvalue().replace("│", " ").split())  # the screen wraps lines, inside boxes too
    reply = text[text.index("Staging validation of v1 passed") : text.index("carol> /mlops status v1")]
    assert re.search(r"passed: accuracy 0\.\d{3} on 60 rows \(95 % CI 0\.\d{3}–[01]\.\d{3}\), p95", reply)
    assert re.search(r"✅ accuracy — accuracy 0\.\d{3} on 60 rows \(95 % CI [^)]*\) >= threshold 0\.8", reply)
    note = re.compile(
        r"ℹ️ Card accuracy 0\.\d{3}: training, on the test split \(\d+ rows\)\. Staging 0\.\d{3}: 60 "
        r"held-out rows sent to the endpoint; 0\.\d{3} is (inside|above|below) its 95 % CI"
    )
    assert note.search(reply)
    assert note.search(text[text.index("carol> /mlops status v1") :])  # the card's details say it too


def test_the_chat_shows_a_cards_commit_and_its_log_path_relative_to_the_home(home: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    script = io.StringIO(":as erin\n/mlops status v1\n")
    assert main_shell(["--home", str(home)], stdin=script, stdout=out, stderr=err) == 0, err.getvalue()
    shown = out.getvalue()
    checkout = detect(code_root())
    assert f"Git `{checkout.sha[:12]}`" in shown
    assert re.search(r"Logs `logs/runs/[a-z0-9]{12}\.log`", shown), shown[-2000:]
    assert str(home) not in shown
