"""``mlops-bot request-approval vN`` and the approval refused once its window closed, in the chat's words."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.service import ReleaseService
from bot.store.sqlite import SQLiteStore
from ml.local import LocalPlatform
from tests.runtimes.cli.conftest import run

REFUSAL = "v1's approval window closed at"


def expire_v1(home: Path) -> None:
    """Open v1's window as if it had been registered 100 hours ago: with a 72h TTL it closed 28 hours ago."""
    with LocalPlatform(home) as platform:
        store = SQLiteStore(home / "bot.db")
        try:
            release = ReleaseService(platform, store, approval_ttl=timedelta(hours=72))
            package = platform.describe_model_package(1)
            long_ago = dataclasses.replace(package, created_at=datetime.now(UTC) - timedelta(hours=100))
            assert release.open_approval_window(long_ago) is not None
        finally:
            store.close()


def test_an_expired_approval_is_refused_until_a_trainer_requests_it_again(
    cli_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLOPS_APPROVAL_TTL", "72h")
    expire_v1(cli_home)
    code, out, err = run(capsys, "approve", "v1", "--as", "bob")
    assert code == 1 and REFUSAL in out + err and "request-approval v1" in out + err
    code, out, err = run(capsys, "status", "--json")
    assert code == 0 and "PendingManualApproval" in out

    code, out, err = run(capsys, "request-approval", "v1", "--as", "bob")
    assert code == 1 and "You need the *trainer* role" in out + err
    code, out, err = run(capsys, "request-approval", "v1", "--as", "alice")
    assert code == 0 and "Requested approval of v1 again" in out, err
    code, out, err = run(capsys, "request-approval", "v1", "--as", "alice")
    assert code == 0 and "nothing changed" in out  # the window is open: a repeat changes nothing

    code, out, err = run(capsys, "approve", "v1", "--as", "bob")
    assert code == 0 and "Approved v1" in out, err


def test_request_approval_needs_a_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        run(capsys, "request-approval", "vX", "--as", "alice")
    assert exc.value.code == 2 and "not a model version" in capsys.readouterr().err
