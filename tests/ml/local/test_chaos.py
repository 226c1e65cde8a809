"""The chaos switch: its command line, its checks, and the host failing exactly the share asked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ml.local.__main__ import main
from ml.local.chaos import CHAOS_FILE, ChaosSwitch, read_chaos


def test_valid_settings_are_written_and_turned_off(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["chaos", "--home", str(home), "--version", "1", "--error-rate", "0.5", "--latency-ms", "300"])
        == 0
    )
    assert "chaos on for v1: error rate 0.5, added latency 300 ms" in capsys.readouterr().out
    document = json.loads((home / CHAOS_FILE).read_text())
    assert document == {"versions": {"1": {"error_rate": 0.5, "latency_ms": 300}}}
    assert main(["chaos", "--home", str(home), "--off"]) == 0
    assert "chaos off for v1" in capsys.readouterr().out
    assert read_chaos(home) == {}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--version", "1", "--error-rate", "1.5"], "the error rate is a fraction from 0 to 1"),
        (["--version", "1", "--latency-ms", "70000"], "the added latency is 0 to 60000 ms"),
        (["--version", "9", "--error-rate", "0.5"], "v9 is not a registered version"),
        (["--version", "1"], "give --error-rate and/or --latency-ms"),
    ],
)
def test_bad_settings_are_refused_and_change_nothing(
    home: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    assert main(["chaos", "--home", str(home), *arguments]) == 2
    assert message in capsys.readouterr().err
    assert not (home / CHAOS_FILE).exists()


def test_a_folder_that_is_no_home_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chaos", "--home", str(tmp_path), "--version", "1", "--error-rate", "0.5"]) == 2
    assert "is not a platform home" in capsys.readouterr().err


def test_failures_follow_the_rate_exactly_and_changes_apply_without_restart(home: Path) -> None:
    switch = ChaosSwitch(home)
    assert [switch.decide(1)[0] for _ in range(4)] == [False] * 4
    (home / CHAOS_FILE).write_text(json.dumps({"versions": {"1": {"error_rate": 0.5, "latency_ms": 0}}}))
    assert [switch.decide(1)[0] for _ in range(6)] == [False, True] * 3
    assert switch.decide(2) == (False, 0)
    (home / CHAOS_FILE).write_text(json.dumps({"versions": {"1": {"error_rate": 0.25, "latency_ms": 5}}}))
    assert [switch.decide(1) for _ in range(4)] == [(False, 5)] * 3 + [(True, 5)]
