"""``/mlops audit`` through the Bolt app: whole ids, filters, and entries that do not fit one message."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.models import Action, AuditEntry, Outcome
from tests.handlers.conftest import Harness

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
#: a SageMaker execution ARN is longer than the 80 characters the audit used to show
RUN_ARN = (
    "arn:aws:sagemaker:eu-west-1:123456789012:pipeline/mlops-xgboost-pipeline/execution/" + "q7w8e9r0t1y2"
)


def seed(h: Harness) -> None:
    """Entries as the engine writes them: bob approved v1..v3, carol deployed them, alice started runs."""
    records = h.services.release.records
    minute = 0

    def add(actor: str, action: Action, target: str, version: int | None, detail: str = "") -> None:
        nonlocal minute
        minute += 1
        uid = f"U{actor.upper()}"
        at = T0 + timedelta(minutes=minute)
        records.add_audit(AuditEntry(at, uid, actor, action, Outcome.DONE, target, detail, version))

    for v in (1, 2, 3):
        add("bob", Action.APPROVE, f"v{v}", v, f"Approved v{v}.")
        add("carol", Action.DEPLOY, f"v{v}->staging", v)
    add("alice", Action.TRAIN, f"execution:{RUN_ARN}", None, "Started a training run (defaults).")
    add("dave", Action.ROLLBACK, "production", 2, "Rolled back production to v2 (was v3).")


def ask(h: Harness, text: str, user: str = "UERIN") -> dict[str, Any]:
    """The reply to ``/mlops <text>``, sent after the ack."""
    count = h.respond_count()
    assert h.command(text, user).status == 200
    return h.wait_responses(count + 1)[-1]


def lines(reply: dict[str, Any]) -> list[str]:
    sections = [b["text"]["text"] for b in reply["blocks"] if b["type"] == "section"]
    return [line for text in sections for line in text.split("\n")]


def notes(reply: dict[str, Any]) -> list[str]:
    return [e["text"] for b in reply["blocks"] if b["type"] == "context" for e in b["elements"]]


def test_run_ids_and_targets_are_shown_whole(harness: Harness) -> None:
    seed(harness)
    reply = ask(harness, "audit")
    assert reply["response_type"] == "ephemeral"
    shown = lines(reply)
    assert len(shown) == 8 and "*rollback*" in shown[0] and "*approve*" in shown[-1]
    assert f"`execution:{RUN_ARN}`" in shown[1] and "…" not in json.dumps(reply)
    # a rollback's target is the environment: the version it went to is shown beside it
    assert "`production` `v2`" in shown[0]


def test_filter_by_version_person_and_action(harness: Harness) -> None:
    seed(harness)
    v3 = lines(ask(harness, "audit 50 v3"))
    assert len(v3) == 2 and all("`v3" in line for line in v3)
    by_bob = ask(harness, "audit <@UBOB|bob>")
    assert [line.split("*")[1] for line in lines(by_bob)] == ["approve"] * 3
    assert all("<@UBOB>" in line for line in lines(by_bob))
    assert notes(by_bob) == ["Only by <@UBOB>"]
    assert lines(ask(harness, "audit <@UBOB>")) == lines(by_bob)
    assert lines(ask(harness, "audit @bob")) == lines(by_bob)  # a name, as typed without a mention
    deploys = lines(ask(harness, "audit action:deploy"))
    assert len(deploys) == 3 and all("<@UCAROL> *deploy*" in line for line in deploys)
    assert lines(ask(harness, "audit deploy")) == deploys
    # the version the rollback went to counts, though its target names the environment
    assert [line.split("*")[1] for line in lines(ask(harness, "audit v2"))] == [
        "rollback",
        "deploy",
        "approve",
    ]


def test_filters_combine_with_the_count(harness: Harness) -> None:
    seed(harness)
    records = harness.services.release.records
    for i in range(30):  # newer than every approval: a page of the newest entries has none
        at = T0 + timedelta(hours=1, minutes=i)
        records.add_audit(AuditEntry(at, "UCAROL", "carol", Action.STATUS, Outcome.DONE, "all"))
    two = lines(ask(harness, "audit 2 approve @bob"))
    assert len(two) == 2 and "`v3`" in two[0] and "`v2`" in two[1]
    one = ask(harness, "audit approve v1 <@UBOB|bob> 5")
    assert len(lines(one)) == 1 and "`v1`" in lines(one)[0]
    assert notes(one) == ["Only version *v1* · by <@UBOB> · action *approve*"]
    assert ask(harness, "audit reject v1")["text"] == "No audit entries match version *v1* · action *reject*."


def test_an_unknown_action_or_bad_version_is_explained_and_changes_nothing(harness: Harness) -> None:
    seed(harness)
    before = harness.state()
    audit_before = harness.services.release.audit(100)
    body = json.loads(harness.command("audit aprove", "UERIN").body)
    assert body["response_type"] == "ephemeral"
    assert "`aprove` is not an action the audit log records" in body["text"]
    valid = "Valid actions: status, history, audit, drift, train, stop, approve, reject, deploy"
    assert valid in body["text"]
    assert "Did you mean `/mlops audit approve`?" in body["text"]
    bad = json.loads(harness.command("audit version:x", "UERIN").body)["text"]
    assert "`x` is not a model version" in bad and "Usage: `/mlops audit [N] [vN] [@person] [action]" in bad
    harness.idle()
    assert harness.respond_count() == 0
    assert harness.state() == before and harness.services.release.audit(100) == audit_before


def test_entries_that_do_not_fit_are_counted_not_cut(harness: Harness) -> None:
    records = harness.services.release.records
    reason = "r" * 900
    for i in range(100):
        at = T0 + timedelta(minutes=i)
        target = f"execution:{RUN_ARN}-{i:03d}"
        records.add_audit(AuditEntry(at, "UALICE", "alice", Action.STOP, Outcome.REFUSED, target, reason))
    reply = ask(harness, "audit 100 stop")
    blocks = reply["blocks"]
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert len(blocks) <= 50 and all(len(t) <= 3000 for t in sections)
    assert sum(map(len, sections + notes(reply))) <= 12_000  # what Slack takes in one message
    shown = lines(reply)
    assert 0 < len(shown) < 100
    # the newest first, each id whole
    assert [line.count(f"`execution:{RUN_ARN}-") for line in shown] == [1] * len(shown)
    assert f"`execution:{RUN_ARN}-099`" in shown[0]
    left_out = 100 - len(shown)
    note = notes(reply)[-1]
    assert blocks[-1]["type"] == "context"
    assert note.startswith(f"{left_out} older entries did not fit in one message.")
    assert "`/mlops audit 20 v3 @name approve`" in note
    assert reply["text"].endswith(f", {left_out} older not shown")
