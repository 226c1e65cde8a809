"""The approval line of the release card, through the Slack app with signed requests (2 of M, groups)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.users import USERS_FILE, LocalUser, load_users
from ml.platform import ApprovalStatus
from runtimes.slack_local import LocalSlack
from tests.conftest import Closer
from tests.handlers.conftest import (
    CHANNEL,
    TOKEN,
    USERS,
    Harness,
    harness_with,
)

#: rita approves for risk; the group names come from Slack, so they are escaped on the card
EXTRA = {"URITA": ("rita", ["ml-approvers", "risk"])}


@pytest.fixture
def local_slack_options() -> dict[str, Any]:
    users = [LocalUser(uid, name, tuple(groups)) for uid, (name, groups) in {**USERS, **EXTRA}.items()]
    return {"users": users, "token": TOKEN, "channels": {"mlops": CHANNEL}}


@pytest.fixture
def quorum(
    release_home: Path, local_slack: LocalSlack, close_later: Closer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Harness]:
    monkeypatch.setitem(USERS, "URITA", EXTRA["URITA"])  # the name her requests carry
    users = load_users(release_home)  # the identity map four-eyes reads knows rita too
    doc = {"users": {u.name: {"groups": list(u.groups)} for u in users.values()}}
    doc["users"]["rita"] = {"groups": EXTRA["URITA"][1]}
    (release_home / USERS_FILE).write_text(json.dumps(doc))
    rule = {"mlops_required_approvals": 2, "mlops_required_approval_groups": "risk"}
    with harness_with(release_home, local_slack, close_later, **rule) as h:
        yield h


def card_text(h: Harness, version: int) -> str:
    ref = h.services.store.get("message", f"card:v{version}")
    assert ref is not None, "no card"
    message = h.slack.message(CHANNEL, str(ref["ts"]))
    assert message is not None
    return json.dumps(message.blocks, ensure_ascii=False)


def reply(h: Harness, text: str, user: str) -> str:
    """What the person who typed ``/mlops <text>`` is answered, blocks included."""
    count = h.respond_count()
    h.command(text, user)
    h.idle()
    return json.dumps(h.wait_responses(count + 1)[-1], ensure_ascii=False)


def test_two_approvals_one_from_risk_through_slack(quorum: Harness) -> None:
    h = quorum
    first = reply(h, "approve v2 fine by me", "UBOB")
    assert "Recorded your approval of v2: 1 of 2 approvals: @bob ✓, waiting for one more from risk." in first
    assert "1 of 2 approvals: <@UBOB> ✓, waiting for one more from risk" in card_text(h, 2)
    assert h.services.platform.describe_model_package(2).approval_status is ApprovalStatus.PENDING

    again = reply(h, "approve v2", "UBOB")
    assert "You already approved v2; it counts once" in again
    # alice trained v2 and holds no approver role: refused in the ack, nothing recorded
    assert "*approver* role" in h.command("approve v2", "UALICE").body
    assert len(h.services.store.query("approval_vote")) == 1
    status = reply(h, "status v2", "UERIN")  # renders the card
    assert "1 of 2 approvals: <@UBOB> ✓, waiting for one more from risk" in status

    done = reply(h, "approve v2 risk signed off", "URITA")
    assert "Approved v2 (2 of 2 approvals: @bob ✓, @rita ✓): risk signed off" in done
    assert h.services.platform.describe_model_package(2).approval_status is ApprovalStatus.APPROVED
    assert "2 of 2 approvals: <@UBOB> ✓, <@URITA> ✓" in card_text(h, 2)
