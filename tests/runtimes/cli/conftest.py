"""The CLI's tests share a trained home to act on, and a way to run one command and read its output."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ml.local.endpoints import stop_host_process
from runtimes.cli import main
from tests.conftest import children


@pytest.fixture
def cli_home(home: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The trained home with users.json; the endpoint host process is stopped afterwards."""
    monkeypatch.setenv("MLOPS_HOME", str(home))
    monkeypatch.delenv("MLOPS_USER", raising=False)
    # tests/conftest.py trains as UALICE: the local users file maps alice to that id
    spawned = children()
    yield home
    stop_host_process(home)
    # A detached training run is a child of this process here (of the shell, for a user): reap it.
    for pid in children() - spawned:
        os.waitpid(pid, 0)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """What argparse printed for ``argv``, checked to be a usage error (exit 2) before anything ran."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    return capsys.readouterr().err
