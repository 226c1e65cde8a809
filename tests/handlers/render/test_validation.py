"""The line that sets the card's accuracy (training's test split) beside staging validation's."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bot.core.models import ApprovalStatus, ValidationReport
from handlers.render.release_card import CardState, render_card
from handlers.render.validation import accuracy_note
from tests.handlers.render.test_render import T0, package, view

#: 166 of 200 right: 0.830, 95 % CI 0.772-0.876
REPORT: dict[str, Any] = {"accuracy": 0.83, "rows": 200, "correct": 166, "accuracy_ci": [0.771841, 0.875721]}
LINEAGE = {"requested_by": "UALICE", "threshold": "0.8", "test_rows": "4885"}


def validated(trained: float, report: dict[str, Any] = REPORT, lineage: dict[str, str] = LINEAGE) -> Any:
    base = view(status=ApprovalStatus.APPROVED, envs=("staging",), lineage=lineage)
    pkg = package(3, ApprovalStatus.APPROVED, lineage)
    pkg = replace(pkg, metrics={**pkg.metrics, "accuracy": trained})
    validation = ValidationReport(3, "staging", True, T0, "local", "summary", report)
    return replace(base, package=pkg, validation=validation)


@pytest.mark.parametrize(
    ("trained", "verdict"),
    [
        (0.872, "0.872 is inside its 95 % CI: consistent."),
        (0.91, "0.910 is above its 95 % CI: lower than expected."),
        (0.75, "0.750 is below its 95 % CI: higher than expected."),
    ],
)
def test_the_note_names_both_measurements_and_whether_they_agree(trained: float, verdict: str) -> None:
    assert accuracy_note(validated(trained)) == (
        f":information_source: Card accuracy {trained:.3f}: training, on the test split (4885 rows). "
        f"Staging 0.830: 200 held-out rows sent to the endpoint; {verdict}"
    )


def test_without_a_recorded_split_size_or_interval_the_note_says_less() -> None:
    older = {"accuracy": 0.83, "rows": 200}
    note = accuracy_note(validated(0.872, older, {"requested_by": "UALICE"}))
    assert note == (
        ":information_source: Card accuracy 0.872: training, on the test split. "
        "Staging 0.830: 200 held-out rows sent to the endpoint."
    )


def test_no_note_without_a_staging_accuracy() -> None:
    assert accuracy_note(view()) is None  # never validated
    assert accuracy_note(validated(0.872, {"passed": False, "checks": []})) is None  # no accuracy measured
    assert accuracy_note(validated(0.872, {"accuracy": 0.83})) is None  # rows not recorded


def test_the_card_carries_the_note_under_its_activity() -> None:
    _, blocks = render_card(CardState(validated(0.872)))
    texts = [b.get("text", {}).get("text", "") for b in blocks]
    activity = next(i for i, t in enumerate(texts) if "Registered" in t)
    assert "0.872 is inside its 95 % CI: consistent." in texts[activity + 1]
