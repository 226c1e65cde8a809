"""``mlops-bot card vN``: the model card export as JSON or Markdown, with and without a champion."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ml.local.endpoints import stop_host_process
from tests.runtimes.cli.conftest import run, usage_error


@pytest.fixture
def release_cli(release_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """v1 serves staging and production (the champion); v2 waits for approval."""
    monkeypatch.setenv("MLOPS_HOME", str(release_home))
    monkeypatch.delenv("MLOPS_USER", raising=False)
    yield release_home
    stop_host_process(release_home)


def test_the_json_card_compares_the_challenger_with_the_champion(
    release_cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "card", "v2", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["format"], doc["format_version"], doc["version"]) == ("mlops-bot/model-card", 1, 2)
    assert doc["champion"] == {"version": 1, "is_this_version": False}
    assert all(m["champion"] is not None and m["delta"] is not None for m in doc["metrics"])
    assert [r["rule"] for r in doc["rules"]] == ["accuracy >= 0.8", "auc >= champion - 0.01"]
    assert all(r["passed"] in (True, False) for r in doc["rules"])  # a champion: every rule judged
    data = doc["data"]
    assert len(data["dataset_sha256"]) == 64 and data["train_rows"] > data["test_rows"] > 0
    matrix = doc["confusion_matrix"]
    assert sum(matrix.values()) == data["test_rows"]
    assert doc["serving"] == [] and doc["staging_validation"] is None and doc["decision"] is None

    code, out, err = run(capsys, "card", "1", "--json")
    champion = json.loads(out)
    assert champion["champion"] == {"version": 1, "is_this_version": True}
    assert champion["serving"] == ["staging", "production"]
    assert champion["rules"][1]["why"] == "this version is the champion"


def test_the_markdown_card_is_the_default_and_says_when_there_is_no_champion(
    cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "card", "v1")
    assert code == 0, err
    assert out.startswith("# Model card: mlops-xgboost v1\n")
    assert "No champion: production serves no model." in out
    assert "- – auc &gt;= champion - 0.01: not judged, no champion" in out
    assert "| Actual negative |" in out and "## Staging validation\n\nNot run yet." in out
    code, md, _ = run(capsys, "card", "v1", "--md")
    assert code == 0 and md == out


def test_an_unknown_version_fails_and_bad_arguments_are_usage_errors(
    cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "card", "v9")
    assert code == 1 and out == "" and "model version v9 does not exist" in err
    assert "argument --md: not allowed with argument --json" in usage_error(
        ["card", "v1", "--json", "--md"], capsys
    )
    assert "the following arguments are required: version" in usage_error(["card"], capsys)
