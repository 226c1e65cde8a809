"""``mlops-bot demo``: the scripted release, run as a user runs it, ends with production on v1."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml import datasets
from tests.runtimes.terminal.test_main import empty_home, mlops_bot, run_cli, succeeded

pytestmark = pytest.mark.long

__all__ = ["empty_home"]  # the fixture, used by name


def test_demo_runs_a_full_release_and_rolls_back(empty_home: Path, tmp_path: Path) -> None:
    # The demo's quality is the pipeline's gate, on a sample as on the full set: the sample is faster.
    sample = datasets.write_adult_sample(tmp_path / "data" / "adult-sample.data")
    args = [*mlops_bot(), "demo", "--home", str(empty_home), "--data", sample.name]
    out = succeeded(run_cli(args, "", empty_home, timeout=600, MLOPS_DATA_DIR=str(sample.parent)))
    assert "alice> /mlops train InputData=adult-sample.data" in out
    # production's drifted traffic (age + 20, hours doubled) is found, led by the shifted features
    drift = out[
        out.index("carol> /mlops drift production 1h") : out.index("(the scheduled drift check runs)")
    ]
    assert "🚨 drift — 2,000 rows from traffic captured in the last 1h" in drift
    ranked = [line.split("`")[3] for line in drift.splitlines() if line.count("`") >= 4]
    assert set(ranked[:2]) == {"age", "hours-per-week"}, drift
    # the scheduled check posts the drift card, its chart goes into the card's thread as a PNG under
    # the home, and the rollback is taken from the card
    card = out[out.index("(the scheduled drift check runs)") : out.index("carol> :click Roll back")]
    assert "Drift · production v2" in card and "[1 Roll back production to v1…]" in card
    chart = card[card.index("📎 Drift · production v2") :].split("\n")
    folded = chart[1 : next(i for i, line in enumerate(chart) if line.startswith("carol>"))]  # the path
    path = Path("".join(line.strip() for line in folded))
    assert path.parent == empty_home / "files" and path.suffix == ".png", chart
    assert path.read_bytes().startswith(b"\x89PNG")
    assert "clicked [Roll back production to v1…]" in out
    assert "Rolled back production to v1 (was v2)." in out
    assert "── transcript (final state of each message) ──" in out
    assert "demo passed: production serves v1 after the rollback" in out
    # the canary of v2, failing every second request, is rolled back by its error alarm; the live
    # message ends with the verdict, production still serves v1, the audit keeps the attempt
    canary = " ".join(out[out.index("carol> /mlops promote v2 canary 10% 1m") :].split())
    assert "Rollout (chosen for this promote): canary 10% for 1m" in canary
    assert "Rolled back automatically: alarm mlops-xgboost-production-new-variant-5xx:" in canary
    assert "production serves v1 again" in canary
    assert "promote `v2->production` rolled_back" in canary
