"""A chat session on a home: what it keeps across restarts, and users.json edits taken in as it runs."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.settings import load_settings
from ml.local import LocalPlatform
from runtimes.slack_local import LocalSlack
from runtimes.terminal import Shell, main_shell
from runtimes.terminal.session import WORKSPACE_FILE
from tests.bot.conftest import FakeClock
from tests.conftest import QUICK_RUN, SAMPLE

pytestmark = pytest.mark.long

TRAIN = "/mlops train " + " ".join(f"{k}={v}" for k, v in {"InputData": SAMPLE, **QUICK_RUN}.items())
#: A public message's heading as printed on a pipe: ``#N mlops-bot #mlops``, then its first line.
PUBLIC_CARD = re.compile(r"^#(\d+) mlops-bot #mlops\n  ╭─ Model v(\d+)", re.MULTILINE)
NUMBERED = re.compile(r"^\s*(?:↳ )?#(\d+) mlops-bot", re.MULTILINE)


@pytest.fixture(autouse=True)
def _no_user_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLOPS_USER", raising=False)


def chat(home: Path, script: str) -> tuple[int, str, str]:
    """One run of ``mlops-bot shell`` on ``home`` with ``script`` piped in: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    code = main_shell(["--home", str(home), "--no-color"], stdin=io.StringIO(script), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def approval(home: Path, version: int) -> str:
    with LocalPlatform(home) as platform:
        return next(p.approval_status.value for p in platform.list_model_packages() if p.version == version)


def test_after_a_restart_an_earlier_cards_button_works_and_updates_the_same_message(home: Path) -> None:
    code, first, err = chat(home, TRAIN + "\n")
    assert code == 0, err
    cards = {int(v): int(n) for n, v in PUBLIC_CARD.findall(first)}
    assert 2 in cards, first
    last_before = max(int(n) for n in NUMBERED.findall(first))

    code, second, err = chat(home, ":as bob\n:click Approve v2 ship it\n")
    assert code == 0, err + second
    unwrapped = " ".join(second.split())
    assert f"#1–#{last_before}: earlier messages, kept in {home / WORKSPACE_FILE}" in unwrapped
    assert f"clicked [Approve v2…] on #{cards[2]}" in second
    assert f"~ #{cards[2]} Model v2 · mlops-xgboost:" in second  # the same message, its changes
    assert not PUBLIC_CARD.search(second), "the card was posted again instead of updated"
    numbers = [int(n) for n in NUMBERED.findall(second)]
    assert numbers and min(numbers) == last_before + 1  # numbering carries on after the restart
    assert "Approved v2: ship it" in second  # the form's comment, typed after the label
    assert approval(home, 2) == "Approved"


def test_a_deleted_card_is_posted_again_and_the_warning_goes_to_the_log_file(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, first, err = chat(home, TRAIN + "\n")
    assert code == 0, err
    card_number = {int(v): int(n) for n, v in PUBLIC_CARD.findall(first)}[2]
    with LocalSlack(state_file=home / WORKSPACE_FILE) as slack:  # someone deletes the card in Slack
        gone = next(m for m in slack.messages() if m.number == card_number)
        slack.delete_message(gone.channel, gone.ts)
    capsys.readouterr()
    code, second, err = chat(home, ":as bob\n/mlops approve v2\n")
    assert code == 0, err + second
    reposted = PUBLIC_CARD.findall(second)
    assert [int(v) for _n, v in reposted] == [2] and int(reposted[0][0]) > card_number
    process = capsys.readouterr()  # what reached the terminal outside the chat's own streams
    for shown in (second, err, process.out, process.err):
        assert "WARNING" not in shown and "is gone" not in shown, shown[-3000:]
    log = (home / "logs" / "mlops-bot.log").read_text()
    assert "Slack message for card:v2 is gone" in log


def test_an_answer_that_cannot_be_saved_is_a_clear_error_not_a_crash(home: Path) -> None:
    out = io.StringIO()
    with Shell(load_settings(mlops_home=home), user="alice", out=out, err=out) as shell:
        shell.slack.close_state()  # the file can no longer be written
        assert shell.run_script(["/mlops help"]) == 1
    shown = " ".join(out.getvalue().split())
    assert f"line 1: /mlops was answered, but the answer could not be shown: {home / WORKSPACE_FILE}" in shown


@pytest.fixture
def pending_shell(home: Path) -> Iterator[tuple[Shell, io.StringIO]]:
    """A chat on a home where v2 waits for approval, its card posted; bob acting."""
    out = io.StringIO()
    with Shell(load_settings(mlops_home=home), user="alice", out=out, err=out) as shell:
        assert shell.run_script([TRAIN]) == 0, out.getvalue()
        yield shell, out


def said_since(out: io.StringIO, mark: int) -> str:
    """What the chat printed after ``mark``, with line wrapping undone (long lines wrap at its width)."""
    return " ".join(out.getvalue()[mark:].split())


def write_users(home: Path, users: dict[str, list[str]]) -> None:
    doc = {"users": {name: {"groups": groups} for name, groups in users.items()}}
    (home / "users.json").write_text(json.dumps(doc))


def test_an_edit_of_users_json_takes_effect_on_the_next_click(
    home: Path, pending_shell: tuple[Shell, io.StringIO]
) -> None:
    shell, out = pending_shell
    assert shell.run_script([":as bob"]) == 0
    users = {"alice": ["ml-team"], "bob": ["ml-approvers"], "carol": ["ml-leads", "ml-oncall"]}
    write_users(home, {**users, "bob": ["ml-team"]})  # bob is no longer an approver
    mark = len(out.getvalue())
    assert shell.run_script([":click Approve v2"]) == 0, out.getvalue()
    refused = said_since(out, mark)
    assert "users.json changed: alice, bob, carol" in refused
    assert "You need the approver role to approve." in refused
    assert "nobody in users.json has the approver role (user group ml-approvers)" in refused
    assert "Approved v2" not in refused
    assert approval(home, 2) == "PendingManualApproval"

    write_users(home, {**users, "dana": ["ml-approvers"]})  # a new approver
    mark = len(out.getvalue())
    assert shell.run_script([":as dana", ":click Approve v2"]) == 0, out.getvalue()
    allowed = said_since(out, mark)
    assert "now acting as dana (ml-approvers; roles: approver)" in allowed
    assert "Approved v2." in allowed
    assert approval(home, 2) == "Approved"


def test_a_broken_edit_keeps_the_users_from_before_and_says_what_is_wrong(
    home: Path, pending_shell: tuple[Shell, io.StringIO]
) -> None:
    shell, out = pending_shell
    (home / "users.json").write_text('{"users": {"bob": ')  # saved half-way
    mark = len(out.getvalue())
    assert shell.run_script([":as bob", ":users"]) == 0, out.getvalue()
    shown = said_since(out, mark)
    assert shown.count("is not a valid users file") == 1  # said once, not on every line
    assert "the users from before stay in force until it is fixed" in shown
    assert "bob (ml-approvers; roles: approver)" in shown
    # valid JSON, but one GitHub login given to two people: refused the same way
    doc = {"users": {"bob": {"groups": [], "github": ["same"]}, "erin": {"groups": [], "github": ["same"]}}}
    (home / "users.json").write_text(json.dumps(doc))
    mark = len(out.getvalue())
    assert shell.run_script([":click Approve v2"]) == 0, out.getvalue()
    shown = said_since(out, mark)
    assert "'github:same' is mapped to both 'bob' and 'erin'; the users from before stay" in shown
    assert "Approved v2." in shown  # bob is still the approver he was


def test_approval_expiry_in_the_chat_reminds_expires_and_restarts(home: Path) -> None:
    settings = load_settings(mlops_home=home, mlops_approval_ttl="72h", mlops_approval_reminders="24h")
    out = io.StringIO()
    with Shell(settings, user="alice", out=out, err=out) as shell:
        assert shell.run_script([TRAIN]) == 0, out.getvalue()
        assert shell.scheduled_work is not None  # the chat runs the ticker when approvals expire
        created = shell.services.platform.describe_model_package(2).created_at
        clock = FakeClock(created.timestamp() + 48 * 3600 + 1)  # the 24h reminder is due
        shell.services.release.clock = clock
        mark = len(out.getvalue())
        shell.scheduled_work.run_due()
        assert shell.run_script([":wait"]) == 0
        reminded = said_since(out, mark)
        assert "@ml-approvers: v2 is waiting for approval" in reminded and "another 1d" in reminded

        clock.advance(24 * 3600)
        mark = len(out.getvalue())
        shell.scheduled_work.run_due()
        assert shell.run_script([":as bob", "/mlops approve v2 ship it"]) == 0
        expired = said_since(out, mark)
        assert "Approval expired" in expired and "Request again" in expired
        assert "v2's approval window closed at" in expired and "request-approval v2" in expired
        assert approval(home, 2) == "PendingManualApproval"

        mark = len(out.getvalue())
        assert shell.run_script([":as alice", ":click Request again v2", ":as bob", "/mlops approve v2"]) == 0
        again = said_since(out, mark)
        assert "Requested approval of v2 again" in again and "Approved v2" in again
        assert approval(home, 2) == "Approved"
