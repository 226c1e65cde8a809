"""No approval without an approver: a run cannot set its version's status, and an approval made
outside the bot unlocks nothing until an approver who did not request the run approves it here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.core.models import Action, Actor, Outcome, Result, Role
from bot.core.service import AUTO_APPROVER, ReleaseService
from bot.store.sqlite import SQLiteStore
from handlers.render.release_card import ACTION_APPROVE, CardState, render_card
from ml.local.endpoints import stop_host_process
from ml.platform import ApprovalStatus, ModelPackage
from runtimes.cli import main
from tests.conftest import ALICE, BOB, CAROL

ALICE_AS_APPROVER = Actor(ALICE.id, "alice", frozenset({Role.APPROVER, Role.TRAINER}))


@pytest.fixture
def cli_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("MLOPS_HOME", str(home))
    monkeypatch.delenv("MLOPS_USER", raising=False)
    yield home
    stop_host_process(home)


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_trainer_cannot_register_their_model_approved(
    cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = json.loads(_cli(capsys, "status", "--json")[1])["executions"]
    code, _, err = _cli(capsys, "train", "ModelApprovalStatus=Approved", "--as", "alice")
    assert code == 1
    assert "ModelApprovalStatus is set by the deployment, not per run" in err
    code, _, err = _cli(capsys, "train", "AccuracyThreshold=0.5", "--as", "alice")
    assert code == 1 and "below the minimum this deployment sets" in err
    assert json.loads(_cli(capsys, "status", "--json")[1])["executions"] == before
    audit = json.loads(_cli(capsys, "audit", "5", "--json")[1])
    assert [(e["action"], e["outcome"]) for e in audit[:2]] == [("train", "refused"), ("train", "refused")]


def _approve_outside(release: ReleaseService, version: int, description: str) -> ModelPackage:
    """What a console or CLI user with registry access does: no bot involved."""
    release.platform.update_approval(version, ApprovalStatus.APPROVED, description)
    return release.platform.describe_model_package(version)


def test_an_approval_made_outside_the_bot_unlocks_nothing(local_release: ReleaseService) -> None:
    announced: list[Result] = []
    local_release.subscribe(announced.append)
    package = _approve_outside(local_release, 1, "approved in the console by alice")

    # Before the bot has even heard of it: deploying is refused.
    refused = local_release.deploy(CAROL, 1, "staging")
    assert refused.outcome is Outcome.REFUSED
    assert "approved outside mlops-bot" in refused.message

    decision = local_release.sync_approval(package)
    assert decision is not None and decision.source == "external"
    notice = announced[-1]
    assert notice.data["external"] is True
    assert "changed outside mlops-bot" in notice.message
    assert '"approved in the console by alice"' in notice.message
    assert "cannot be deployed until an approver" in notice.message

    for attempt in (local_release.deploy(CAROL, 1, "staging"), local_release.promote(CAROL, 1)):
        assert attempt.outcome is Outcome.REFUSED
        assert "approved outside mlops-bot" in attempt.message
    assert local_release.serving("staging") is None and local_release.serving("production") is None

    view = local_release.view(1)
    assert view.approved_outside and not view.promotable
    _, blocks = render_card(CardState(view))
    card = json.dumps(blocks)
    assert "Approved outside mlops-bot" in card and ACTION_APPROVE in card

    # Four-eyes still runs: the requester cannot confirm it, even holding the approver role.
    own = local_release.approve(ALICE_AS_APPROVER, 1)
    assert own.outcome is Outcome.REFUSED and "Four-eyes" in own.message
    assert local_release.serving("staging") is None

    confirmed = local_release.approve(BOB, 1, "reviewed")
    assert confirmed.outcome is Outcome.DONE
    decision = local_release.records.decision(1)
    assert decision is not None and (decision.actor_id, decision.source) == (BOB.id, "bot")
    assert local_release.serving("staging") == 1  # the approval's own staging deploy
    promoted = local_release.promote(CAROL, 1)
    assert promoted.outcome is Outcome.DONE, promoted.message
    assert local_release.serving("production") == 1


def test_an_outside_rejection_stays(local_release: ReleaseService) -> None:
    local_release.platform.update_approval(1, ApprovalStatus.REJECTED, "no")
    local_release.sync_approval(local_release.platform.describe_model_package(1))
    again = local_release.approve(BOB, 1)
    assert again.outcome is Outcome.REFUSED and "already rejected" in again.message


def test_auto_approval_is_the_bots_own_audited_decision(home: Path) -> None:
    from ml.local import LocalPlatform

    with LocalPlatform(home, host_endpoints_in_process=True) as platform:
        store = SQLiteStore(home / "bot.db")
        try:
            release = ReleaseService(platform, store, auto_approve=True, auto_deploy_staging=False)
            decision = release.sync_approval(platform.describe_model_package(1))
            assert decision is not None
            assert (decision.status, decision.actor_name, decision.source) == (
                ApprovalStatus.APPROVED,
                AUTO_APPROVER.name,
                "bot",
            )
            assert platform.describe_model_package(1).approval_status is ApprovalStatus.APPROVED
            entry = release.audit(1)[0]
            assert (entry.action, entry.outcome, entry.actor_name) == (
                Action.APPROVE,
                Outcome.DONE,
                AUTO_APPROVER.name,
            )
            assert "MLOPS_AUTO_APPROVE" in entry.detail
            _, blocks = render_card(CardState(release.view(1)))
            assert "Auto-approved" in json.dumps(blocks)
            assert release.deploy(CAROL, 1, "staging").outcome is Outcome.DONE
        finally:
            store.close()


def test_without_auto_approval_a_new_version_waits(local_release: ReleaseService) -> None:
    assert local_release.sync_approval(local_release.platform.describe_model_package(1)) is None
    assert local_release.platform.describe_model_package(1).approval_status is ApprovalStatus.PENDING
