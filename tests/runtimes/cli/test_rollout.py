"""Progressive delivery on the command line: ``promote --rollout``, ``rollout stop|finish``, and the
rollback question naming its path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core.service import RollbackPlan
from ml.rollout_state import RollbackPath
from runtimes.cli.confirm import question
from tests.runtimes.cli.conftest import run, usage_error

ENDPOINT = "mlops-xgboost-production"


def test_promote_with_a_rollout_asks_with_it_and_audits_the_override(
    cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "approve", "v1", "--as", "bob")[0] == 0
    code, out, err = run(capsys, "promote", "v1", "--rollout", "canary 5% 10m", "--as", "carol")
    assert code == 1 and out == ""  # piped, without --yes: asked, nothing changed
    assert "Rollout (chosen for this promote): canary 5% 10m bake 0s; guarded by " in err
    assert f"{ENDPOINT}-new-variant-5xx" in err
    code, out, err = run(
        capsys, "promote", "v1", "--rollout", "canary 5% 10m bake 2m", "--yes", "--as", "carol"
    )
    assert code == 0 and "Promoted v1 to production" in out, err
    audit = json.loads(run(capsys, "audit", "5", "--json", "--action", "promote")[1])
    assert audit[0]["detail"].endswith("(rollout override: canary 5% 10m bake 2m)")


@pytest.mark.parametrize(
    ("rollout", "problem"),
    [
        ("canary 80% 5m", "a canary is 1% to 50% of capacity, not 80%"),
        ("sideways", "unknown rollout 'sideways'"),
        (
            "linear 20% 20m",
            "linear 20% 20m bake 0s waits 80m in all, which must stay under the rollout timeout",
        ),
    ],
)
def test_a_bad_rollout_is_a_usage_error_that_changes_nothing(
    cli_home: Path, capsys: pytest.CaptureFixture[str], rollout: str, problem: str
) -> None:
    assert run(capsys, "approve", "v1", "--as", "bob")[0] == 0
    code, out, err = run(capsys, "promote", "v1", "--rollout", rollout, "--yes", "--as", "carol")
    assert code == 2 and out == ""
    assert f"mlops-bot: promote --rollout: {problem}" in err and "a rollout is `all-at-once`" in err
    status = json.loads(run(capsys, "status", "--json")[1])
    assert status["environments"]["production"]["version"] is None


def test_rollout_stop_and_finish_say_why_nothing_changed(
    cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "rollout", "stop", "production", "--as", "carol")
    assert code == 1 and "No rollout is running on production: there has been none. Nothing changed." in out
    code, out, err = run(capsys, "rollout", "finish", "production", "--as", "alice")
    assert code == 1 and "You need the *releaser* or *oncall* role to finish-rollout" in err
    audit = json.loads(run(capsys, "audit", "2", "--json")[1])
    assert [(e["action"], e["outcome"]) for e in audit] == [
        ("finish-rollout", "refused"),
        ("stop-rollout", "refused"),
    ]
    assert "invalid choice: 'pause'" in usage_error(["rollout", "pause", "production"], capsys)


def test_the_rollback_question_says_which_path_it_takes() -> None:
    cold = question(RollbackPlan("production", 2, 1, ENDPOINT, RollbackPath(1, False, "loads v1 again")))
    assert (
        cold
        == f"Roll back production: endpoint {ENDPOINT} goes from v2 to v1. It redeploys v1 (loads v1 again)."
    )
    warm = question(RollbackPlan("production", 2, 1, ENDPOINT, RollbackPath(1, True, "weights only")))
    assert warm.endswith("It shifts traffic back to the warm v1 at once (weights only).")
