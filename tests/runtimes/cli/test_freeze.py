"""Change freezes from the CLI: the same core, the same refusals as the chat, --yes and the TTY."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.users import load_users
from tests.runtimes.cli.conftest import run, usage_error
from tests.runtimes.cli.test_cli import Terminal


def add_rose(home: Path) -> None:
    """A releaser who is not oncall."""
    load_users(home)
    path = home / "users.json"
    doc = json.loads(path.read_text())
    doc["users"]["rose"] = {"groups": ["ml-leads"]}
    path.write_text(json.dumps(doc))


def test_freeze_refuses_promote_then_unfreeze(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "approve", "v1", "--as", "bob")[0] == 0
    code, out, err = run(capsys, "freeze", "production", "4h", '"quarter', 'close"', "--as", "carol")
    assert code == 0 and "✓ Froze production until" in out and "quarter close" in out, err
    code, out, err = run(capsys, "promote", "v1", "--as", "carol", "--yes")
    assert code == 1
    assert "Cannot promote v1: production is frozen until" in out and 'by carol: "quarter close"' in out
    assert "mlops-bot: refused: Cannot promote v1" in err
    code, out, _ = run(capsys, "freeze", "production", "1h", "again", "--as", "erin")
    assert code == 1 and "You need the *releaser* or *oncall* role to freeze" in out
    code, out, _ = run(capsys, "unfreeze", "production", "--as", "carol")
    assert code == 0 and "Unfroze production" in out
    code, out, _ = run(capsys, "unfreeze", "production", "--as", "carol")
    assert code == 0 and "= production is not frozen." in out
    code, out, err = run(capsys, "promote", "v1", "--as", "carol", "--yes")
    assert code == 0 and "Promoted v1 to production" in out, err


def test_bad_freeze_arguments_are_usage_errors(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "'forever' is not a duration" in usage_error(["freeze", "production", "forever", "x"], capsys)
    assert "the following arguments are required: reason" in usage_error(
        ["freeze", "production", "4h"], capsys
    )
    assert "break-glass needs a reason" in usage_error(["promote", "v1", "--break-glass", " "], capsys)


def test_break_glass_asks_on_a_terminal_needs_yes_otherwise_and_is_flagged(
    cli_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    add_rose(cli_home)
    assert run(capsys, "approve", "v1", "--as", "bob")[0] == 0
    assert run(capsys, "freeze", "production", "2h", "quarter", "close", "--as", "rose")[0] == 0
    # not oncall: refused before anything is asked, in the chat's words
    code, out, err = run(capsys, "promote", "v1", "--as", "rose", "--break-glass", "hotfix INC-42")
    assert code == 1 and "Only *oncall* can break glass: production is frozen" in out
    # piped, without --yes: the question names the freeze, and nothing changes
    code, out, err = run(capsys, "promote", "v1", "--as", "carol", "--break-glass", "hotfix INC-42")
    assert code == 1 and out == ""
    assert (
        "Break-glass: production is frozen until" in err
        and 'by rose: "quarter close". Reason: hotfix INC-42.' in err
    )
    assert "Add --yes to confirm without a terminal; nothing changed." in err
    # at a terminal: asked, and "y" goes ahead
    asked: list[str] = []
    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or "y")
    code, out, err = run(capsys, "promote", "v1", "--as", "carol", "--break-glass", "hotfix INC-42")
    assert code == 0 and "Promoted v1 to production. Break-glass:" in out, err
    assert len(asked) == 1 and asked[0].startswith("Break-glass: production is frozen")
    code, out, _ = run(capsys, "audit", "5", "--action", "promote", "--json")
    entries = json.loads(out)
    assert [(e["outcome"], e["break_glass"]) for e in entries] == [("done", True), ("refused", False)]
    code, out, _ = run(capsys, "audit", "1", "--action", "promote")
    assert "BREAK-GLASS carol" in out
