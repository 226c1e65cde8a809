"""Records on every store: the audit read (filters applied while reading, newest first, within a bound)
and model versions as last described."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import bot.core.records as records_module
from bot.core.models import Action, AuditEntry, AuditFilter, Outcome
from bot.core.package_facts import LAYOUT
from bot.core.records import NS_AUDIT, NS_PACKAGE, Records, version_key
from bot.core.store import Store
from ml.platform import ApprovalStatus, LifeCycle, ModelPackage

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def entry(minute: int, actor: str, action: Action, version: int | None, target: str = "") -> AuditEntry:
    return AuditEntry(
        at=START + timedelta(minutes=minute),
        actor_id=f"U{actor.upper()}",
        actor_name=actor,
        action=action,
        outcome=Outcome.DONE,
        target=target or (f"v{version}" if version is not None else "pipeline"),
        version=version,
    )


@pytest.fixture
def records(store: Store, monkeypatch: pytest.MonkeyPatch) -> Records:
    """60 entries: bob approves v1..v5 early on, then many deploys by carol bury them."""
    monkeypatch.setattr(records_module, "AUDIT_PAGE", 7)  # several pages, on both stores
    recs = Records(store)
    for v in range(1, 6):
        recs.add_audit(entry(v, "bob", Action.APPROVE, v))
    for i in range(50):
        recs.add_audit(entry(10 + i, "carol", Action.DEPLOY, 2 + i % 2, f"v{2 + i % 2}->staging"))
    for i in range(5):
        recs.add_audit(entry(100 + i, "alice", Action.TRAIN, None, f"execution:{'x' * 90}{i}"))
    return recs


def test_a_filter_finds_entries_older_than_the_unfiltered_page(records: Records) -> None:
    approvals = records.audit(20, AuditFilter(action=Action.APPROVE))
    assert [e.version for e in approvals] == [5, 4, 3, 2, 1]  # all of them, newest first
    assert records.audit(3, AuditFilter(action=Action.APPROVE))[-1].version == 3
    # without a filter: the newest entries, none of the approvals
    assert {e.action for e in records.audit(20)} == {Action.TRAIN, Action.DEPLOY}


def test_each_filter_and_their_combination(records: Records) -> None:
    v3 = records.audit(100, AuditFilter(version=3))
    assert len(v3) == 26 and all(e.version == 3 for e in v3)
    assert {e.action for e in v3} == {Action.APPROVE, Action.DEPLOY}
    by_bob = records.audit(100, AuditFilter(actor="bob"))
    assert len(by_bob) == 5 and {e.actor_id for e in by_bob} == {"UBOB"}
    assert records.audit(100, AuditFilter(actor="UBOB")) == by_bob  # by Slack user id
    assert records.audit(100, AuditFilter(actor="BOB")) == by_bob  # a name in any case
    assert records.audit(100, AuditFilter(actor="ubob")) == []  # an id is exact
    both = records.audit(10, AuditFilter(version=3, actor="carol", action=Action.DEPLOY))
    assert len(both) == 10 and {(e.version, e.actor_name, e.action) for e in both} == {
        (3, "carol", Action.DEPLOY)
    }
    assert records.audit(10, AuditFilter(version=3, action=Action.TRAIN)) == []
    runs = records.audit(10, AuditFilter(action=Action.TRAIN))
    assert runs[0].target == f"execution:{'x' * 90}4"  # whole, as recorded


def test_the_read_stops_at_its_bound(records: Records, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(records_module, "AUDIT_SCAN_MAX", 56)  # the 55 newest, and v5's approval
    assert [e.version for e in records.audit(20, AuditFilter(action=Action.APPROVE))] == [5]


def test_entries_written_before_versions_were_recorded_are_placed_by_target(store: Store) -> None:
    old = entry(1, "dave", Action.ROLLBACK, None, "v7->production").to_dict()
    del old["version"]
    store.put(NS_AUDIT, "2026-03-01T09:01:00.000000Z#00", old)
    store.put(NS_AUDIT, "2026-03-01T09:02:00.000000Z#00", entry(2, "dave", Action.STOP, None).to_dict())
    found = Records(store).audit(5, AuditFilter(version=7))
    assert [(e.action, e.version) for e in found] == [(Action.ROLLBACK, 7)]
    assert AuditEntry.from_dict(found[0].to_dict()) == found[0]


# -- model versions as last described ------------------------------------------------------------------------
def package(version: int, group: str = "Churn", **changes: Any) -> ModelPackage:
    return replace(
        ModelPackage(
            version=version,
            arn=f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{group.lower()}/{version}",
            group=group,
            approval_status=ApprovalStatus.APPROVED,
            created_at=START + timedelta(hours=version),
            approval_description="looks good",
            metrics={"accuracy": 0.871, "auc": 0.93},
            artifact_uri="s3://b/model.tar.gz",
            artifact_sha256="cd" * 32,
            lineage={"requested_by": "U0ALICE", "parameters": '{"num_round": "100"}'},
            modified_by="arn:aws:iam::123456789012:user/bob",
            life_cycle=LifeCycle("Staging", "InProgress", "under test"),
        ),
        **changes,
    )


def test_packages_are_remembered_as_described_newest_first_per_group(store: Store) -> None:
    recs = Records(store)
    for v in (1, 3, 2):
        recs.remember_package(package(v))
    recs.remember_package(package(9, group="Other", life_cycle=None, approval_description=None))
    assert recs.known_packages("churn", None) == [package(3), package(2), package(1)]
    assert recs.known_packages("Churn", 2) == [package(3), package(2)]
    assert recs.known_package("Other", 9) == package(
        9, group="Other", life_cycle=None, approval_description=None
    )
    assert recs.known_package("Churn", 9) is None
    # a later description replaces the earlier one
    recs.remember_package(package(3, approval_status=ApprovalStatus.REJECTED))
    assert recs.known_package("Churn", 3) == package(3, approval_status=ApprovalStatus.REJECTED)


def test_a_record_this_code_cannot_read_is_skipped(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    recs = Records(store)
    recs.remember_package(package(1))
    recs.remember_package(package(2))
    stored = store.get(NS_PACKAGE, f"churn#{version_key(2)}")
    assert stored is not None
    store.put(NS_PACKAGE, f"churn#{version_key(2)}", {**stored, "approval_status": "Maybe"})
    store.put(NS_PACKAGE, f"churn#{version_key(3)}", {**stored, "layout": LAYOUT + 1})
    assert recs.known_packages("Churn", None) == [package(1)]
    assert "Maybe" in caplog.text
