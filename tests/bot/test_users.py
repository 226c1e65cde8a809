"""users.json: defaults on first use, clear errors, and edits noticed while a chat runs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bot import users as users_module
from bot.users import DEFAULT_USERS, UsersFile, load_users


def write(home: Path, users: dict[str, list[str]]) -> None:
    path = home / "users.json"
    path.write_text(json.dumps({"users": {n: {"groups": g} for n, g in users.items()}}))


def test_first_use_writes_the_defaults(tmp_path: Path) -> None:
    assert {n: list(u.groups) for n, u in load_users(tmp_path).items()} == DEFAULT_USERS
    with pytest.raises(ValueError, match=r"users\.json is not a valid users file"):
        (tmp_path / "users.json").write_text("[]")
        load_users(tmp_path)


def test_a_check_rereads_the_file_only_when_it_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    roster = UsersFile(tmp_path)
    reads: list[Path] = []
    real = users_module.load_users
    monkeypatch.setattr(users_module, "load_users", lambda home: reads.append(home) or real(home))
    for _ in range(3):
        check = roster.check()
        assert not check.changed and check.error is None and set(check.users) == set(DEFAULT_USERS)
    assert reads == []  # unchanged: one stat each, no read

    write(tmp_path, {"bob": ["ml-team"], "dana": ["ml-approvers"]})
    check = roster.check()
    assert check.changed and check.error is None
    assert {n: u.groups for n, u in check.users.items()} == {"bob": ("ml-team",), "dana": ("ml-approvers",)}
    assert len(reads) == 1
    assert not roster.check().changed and len(reads) == 1

    # the same size and content written again, with a new modification time: read, but no change
    path = tmp_path / "users.json"
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert not roster.check().changed and len(reads) == 2


def test_a_broken_edit_keeps_the_users_from_before_and_is_reported_once(tmp_path: Path) -> None:
    roster = UsersFile(tmp_path)
    (tmp_path / "users.json").write_text('{"users": {"bob": {"groups": ')
    first = roster.check()
    assert first.error is not None and "is not a valid users file" in first.error
    assert '{"users": {"alice": {"groups": ["ml-team"]' in first.error  # says what is expected
    assert not first.changed and set(first.users) == set(DEFAULT_USERS)
    again = roster.check()
    assert again.error is None and set(again.users) == set(DEFAULT_USERS)  # once per broken version

    write(tmp_path, {"erin": ["ml-leads"]})  # fixed
    fixed = roster.check()
    assert fixed.changed and fixed.error is None and list(fixed.users) == ["erin"]
    assert roster.users == fixed.users


def test_a_broken_file_at_start_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "users.json").write_text('{"people": {}}')
    with pytest.raises(ValueError, match=r"not a valid users file \('users'\)"):
        UsersFile(tmp_path)
