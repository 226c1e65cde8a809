"""N-of-M approvals on the local platform: votes per person, groups, repeats, four-eyes, voiding."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.core.models import Action, Actor, Outcome, Role
from bot.core.service import ReleaseService
from bot.core.votes import ApprovalRule
from bot.store.sqlite import SQLiteStore
from handlers.render.release_card import CardState, render_card
from ml.local import LocalPlatform
from ml.platform import ApprovalStatus
from tests.conftest import ALICE

APPROVER = frozenset({Role.APPROVER})
BOB = Actor("UBOB", "bob", APPROVER, groups=frozenset({"ml-approvers"}))
CAROL = Actor("UCAROL", "carol", APPROVER, groups=frozenset({"ml-approvers"}))
RITA = Actor("URITA", "rita", APPROVER, groups=frozenset({"risk"}))
ALICE_APPROVER = Actor(ALICE.id, "alice", frozenset({Role.APPROVER, Role.TRAINER}))


@pytest.fixture
def open_release(home: Path) -> Iterator[tuple[ReleaseService, LocalPlatform, SQLiteStore]]:
    platform = LocalPlatform(home, host_endpoints_in_process=True)
    store = SQLiteStore(home / "bot.db")
    try:
        yield ReleaseService(platform, store, approval_rule=ApprovalRule(2, ("risk",))), platform, store
    finally:
        platform.close()
        store.close()


def _model_file(platform: LocalPlatform, version: int) -> Path:
    uri = platform.describe_model_package(version).artifact_uri
    return Path(uri.removeprefix("file://")) / "xgboost-model"


def test_two_distinct_approvers_one_from_each_group_approve_and_deploy_to_staging(
    open_release: tuple[ReleaseService, LocalPlatform, SQLiteStore],
) -> None:
    release, platform, _ = open_release
    first = release.approve(BOB, 1, "looks fine")
    assert first.outcome is Outcome.DONE
    assert first.message == (
        "Recorded your approval of v1: 1 of 2 approvals: @bob ✓, waiting for one more from risk."
    )
    assert platform.describe_model_package(1).approval_status is ApprovalStatus.PENDING
    assert release.serving("staging") is None  # a vote approves nothing yet

    # another ml-approver cannot fill the seat only risk can
    second = release.approve(CAROL, 1)
    assert second.outcome is Outcome.REFUSED
    assert "needs an approval from a member of risk" in second.message
    assert release.view(1).approvals is not None and len(release.view(1).approvals.votes) == 1

    last = release.approve(RITA, 1, "risk ok")
    assert last.outcome is Outcome.DONE
    assert last.message == "Approved v1 (2 of 2 approvals: @bob ✓, @rita ✓): risk ok"
    assert platform.describe_model_package(1).approval_status is ApprovalStatus.APPROVED
    assert "2 of 2 approvals" in (platform.describe_model_package(1).approval_description or "")
    assert release.serving("staging") == 1  # what follows an approval happens as before


def test_a_second_click_by_the_same_person_is_harmless(
    open_release: tuple[ReleaseService, LocalPlatform, SQLiteStore],
) -> None:
    release, _, store = open_release
    release.approve(BOB, 1)
    votes = store.query("approval_vote")
    again = release.approve(BOB, 1)
    assert again.outcome is Outcome.NOOP
    assert again.message == (
        "You already approved v1; it counts once: 1 of 2 approvals: @bob ✓, waiting for one more from risk."
    )
    assert store.query("approval_vote") == votes


def test_the_requester_never_counts(open_release: tuple[ReleaseService, LocalPlatform, SQLiteStore]) -> None:
    release, _, store = open_release
    refused = release.approve(ALICE_APPROVER, 1)
    assert refused.outcome is Outcome.REFUSED
    assert "Four-eyes rule" in refused.message
    assert store.query("approval_vote") == []


def test_a_changed_model_file_voids_earlier_votes_and_the_card_says_why(
    open_release: tuple[ReleaseService, LocalPlatform, SQLiteStore],
) -> None:
    release, platform, _ = open_release
    before = platform.artifact_identity(1)
    release.approve(BOB, 1)
    model = _model_file(platform, 1)
    model.write_bytes(model.read_bytes() + b"\n")
    after = platform.artifact_identity(1)
    assert after.model_data_sha256 != before.model_data_sha256
    assert (after.package_arn, after.image_digest) == (before.package_arn, before.image_digest)

    vote = release.approve(RITA, 1)
    assert vote.outcome is Outcome.DONE
    assert vote.message.startswith(
        f"Approvals voided: model data changed (sha256 {before.model_data_sha256[:12]}… → "
        f"{after.model_data_sha256[:12]}…). Recorded your approval of v1: 1 of 2 approvals: @rita ✓"
    )
    assert platform.describe_model_package(1).approval_status is ApprovalStatus.PENDING
    view = release.view(1)
    assert view.approvals is not None and [v.actor_name for v in view.approvals.votes] == ["rita"]
    _, blocks = render_card(CardState(view))
    text = str(blocks)
    assert "1 of 2 approvals: <@URITA> ✓, waiting for one more" in text
    assert "approvals voided: model data changed" in text and "(bob no longer count)" in text
    audit = release.audit(5)
    assert any(e.action is Action.APPROVE and "approvals voided" in e.detail for e in audit)


def test_a_rejection_by_an_approver_still_rejects_at_once(
    open_release: tuple[ReleaseService, LocalPlatform, SQLiteStore],
) -> None:
    release, platform, _ = open_release
    release.approve(BOB, 1)
    rejected = release.reject(CAROL, 1, "recall too low")
    assert rejected.outcome is Outcome.DONE
    assert platform.describe_model_package(1).approval_status is ApprovalStatus.REJECTED
    assert release.approve(RITA, 1).outcome is Outcome.REFUSED


def test_a_serving_code_change_changes_the_local_image_digest(home: Path) -> None:
    with LocalPlatform(home) as platform:
        before = platform.artifact_identity(1)
        assert before == platform.artifact_identity(1)  # stable while nothing changes
        code = _model_file(platform, 1).parent / "code" / "inference.py"
        code.write_text(code.read_text() + "\n# patched\n")
        after = platform.artifact_identity(1)
    assert after.image_digest != before.image_digest and after.image_digest.startswith("sha256:")
    assert after.changes_since(before) == [
        f"serving image changed ({before.image_digest[7:19]}… → {after.image_digest[7:19]}…)"
    ]
