"""The commit a local run records: read from the checkout with git, or why there is none."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from ml.local import source
from ml.local.source import GitSource, code_root, detect


def git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    done = subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return done.stdout.strip()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    root.mkdir()
    git(root, "init", "-q")
    (root / "ml").mkdir()
    (root / "ml" / "__init__.py").write_text("", encoding="utf-8")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    return root


def test_a_clean_checkout_records_its_commit(checkout: Path) -> None:
    found = detect(checkout)
    assert found == GitSource(source.STATE_CHECKOUT, git(checkout, "rev-parse", "HEAD"), dirty=False)
    assert found.lineage() == {"git_sha": found.sha, "git_dirty": "false", "git_state": "checkout"}


def test_uncommitted_changes_are_recorded(checkout: Path) -> None:
    (checkout / "ml" / "__init__.py").write_text("CHANGED = True\n", encoding="utf-8")
    found = detect(checkout)
    assert found.sha == git(checkout, "rev-parse", "HEAD") and found.dirty


def test_a_plain_folder_is_not_a_git_checkout(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert detect(plain) == GitSource(source.STATE_NOT_CHECKOUT)


def test_a_folder_inside_another_repository_is_not_this_codes_checkout(checkout: Path) -> None:
    # e.g. a virtualenv's site-packages inside some project: that project's commit is not ours
    assert detect(checkout / "ml") == GitSource(source.STATE_NOT_CHECKOUT)


def test_a_repository_without_commits_has_no_commit(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    assert detect(tmp_path).state == source.STATE_NOT_CHECKOUT


def test_without_git_it_says_so(checkout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source.shutil, "which", lambda _name: None)
    assert detect(checkout) == GitSource(source.STATE_NO_GIT)


def test_git_cannot_prompt_or_be_redirected_by_the_callers_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GIT_DIR", "/somewhere/else")
    env = source._environment()
    assert env["GIT_TERMINAL_PROMPT"] == "0" and env["GIT_ASKPASS"] == ""
    assert "GIT_DIR" not in env


def test_the_code_root_holds_the_ml_package() -> None:
    assert (code_root() / "ml" / "local" / "source.py").is_file()
