"""Evidence in the terminal chat: the card's evidence, the confusion matrix PNG under MLOPS_HOME/files,
and ``/mlops card vN``."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from tests.conftest import QUICK_RUN, SAMPLE
from tests.runtimes.terminal.test_session import _no_user_from_env, chat

TRAIN = "/mlops train " + " ".join(f"{k}={v}" for k, v in {"InputData": SAMPLE, **QUICK_RUN}.items())


__all__ = ["_no_user_from_env"]  # the fixture, used by name


def test_a_new_versions_card_shows_the_champion_and_its_matrix_lands_under_the_home(
    release_home: Path,
) -> None:
    code, out, err = chat(release_home, TRAIN + "\n:wait\n/mlops card v3\n")
    assert code == 0, err
    flat = " ".join(out.split())
    assert "Evidence · Champion: v1, which production serves." in flat
    assert "metric v3 v1 Δ" in flat and "accuracy >= 0.8" in flat
    assert "📎 Confusion matrix · v3" in out
    (png,) = (release_home / "files").glob("*-confusion-matrix-v3.png")
    assert Image.open(png).format == "PNG"
    assert "Model card · v3" in out and "# Model card: mlops-xgboost v3" in out
    assert "Champion: v1, which production serves." in out and "| Actual positive |" in out
