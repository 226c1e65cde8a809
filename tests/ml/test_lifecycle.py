"""The one mapping from release steps to registry stages, and values that fit botocore's ModelLifeCycle."""

from __future__ import annotations

import pytest

from ml.lifecycle import (
    DESCRIPTION_LIMIT,
    LifeCycle,
    Transition,
    from_shape,
    life_cycle_for,
    registered,
    stage_text,
)


@pytest.mark.parametrize(
    ("transition", "stage", "status"),
    [
        (Transition.REGISTERED, "Development", "PendingApproval"),
        (Transition.APPROVED, "Development", "Approved"),
        (Transition.STAGING, "Staging", "InProgress"),
        (Transition.PRODUCTION, "Production", "Approved"),
        (Transition.REPLACED, "Archived", "Retired"),
        (Transition.REJECTED, "Archived", "Rejected"),
    ],
)
def test_each_transition_has_one_stage(transition: Transition, stage: str, status: str) -> None:
    life = life_cycle_for(transition, "why")
    assert (life.stage, life.status, life.description) == (stage, status, "why")
    assert life.request() == {"Stage": stage, "StageStatus": status, "StageDescription": "why"}


def test_registration_follows_the_approval_it_was_registered_with() -> None:
    assert registered("PendingManualApproval").status == "PendingApproval"
    assert registered("Approved").status == "Approved"
    assert (registered("Rejected").stage, registered("Rejected").status) == ("Archived", "Rejected")


def test_descriptions_are_one_bounded_line() -> None:
    life = life_cycle_for(Transition.REJECTED, "Rejected by bob:\nline two\x00\ttabbed " + "x" * 2000)
    assert len(life.description) == DESCRIPTION_LIMIT
    assert life.description.startswith("Rejected by bob: line two tabbed xxx") and life.description.endswith(
        "…"
    )
    assert "StageDescription" not in life_cycle_for(Transition.STAGING).request()


@pytest.mark.parametrize("name", ["", "Pre Production", "-staging", "a" * 64, "Stage--"])
def test_names_outside_the_registry_pattern_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="not a registry name"):
        LifeCycle(name, "Approved")
    assert from_shape({"Stage": name, "StageStatus": "Approved"}) is None


def test_shapes_read_back() -> None:
    shape = {"Stage": "QA", "StageStatus": "OnHold", "StageDescription": "risk review"}
    assert from_shape(shape) == LifeCycle("QA", "OnHold", "risk review")
    assert from_shape(None) is None
    assert stage_text(from_shape(shape)) == "QA/OnHold"
    assert stage_text(from_shape(shape), with_description=True) == "QA/OnHold — risk review"
    assert stage_text(None) == "none"
