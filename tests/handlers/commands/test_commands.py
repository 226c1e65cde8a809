"""``/mlops`` and buttons on the local platform: answers, confirmations, refusals, robustness."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import ActionsBlock, Block

from bot.core.models import Action, ApprovalStatus, Outcome
from ml.local.source import code_root, detect
from runtimes.slack_local import LocalSlack
from tests.conftest import Closer
from tests.handlers.conftest import CHANNEL, Harness, drain, make_harness, make_services

pytestmark = pytest.mark.long

Fresh = Callable[[], AbstractContextManager[Harness]]


def buttons(blocks: list[dict[str, Any]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for block in (Block.parse(b) for b in blocks):  # type: ignore[misc]
        if isinstance(block, ActionsBlock):
            out.update({e.action_id: e.value for e in block.elements})
    return out


def test_help_lists_only_what_the_caller_may_do(harness: Harness) -> None:
    erin = harness.command("help", "UERIN").body
    alice = harness.command("", "UALICE").body
    assert "/mlops status" in erin and "/mlops train" not in erin and "/mlops approve" not in erin
    assert "/mlops train" in alice and "/mlops approve" not in alice
    assert json.loads(alice)["response_type"] == "ephemeral"
    (params,) = [b["text"]["text"] for b in json.loads(alice)["blocks"] if "Training parameters" in str(b)]
    assert "`max_depth`=5 [1–16]" in params
    # short, and no path of the bot's host: the data set by file name only
    assert len(params) < 500 and "`InputData`=adult.data.gz" in params and "/" not in params


def test_usage_error_is_ephemeral_with_closest_form_and_changes_nothing(harness: Harness) -> None:
    before = harness.state()
    response = harness.command("aprove v2", "UBOB")
    body = json.loads(response.body)
    assert response.status == 200 and body["response_type"] == "ephemeral"
    assert "Did you mean `/mlops approve v2`?" in body["text"]
    response = harness.command("train max_dept=3", "UALICE")
    assert "Did you mean `/mlops train max_depth=3`?" in json.loads(response.body)["text"]
    harness.idle()
    assert harness.state() == before and harness.respond_count() == 0


def test_status_and_reads_answer_ephemerally(harness: Harness) -> None:
    harness.command("status", "UERIN")
    harness.command("history production", "UERIN")
    harness.command("status v2", "UERIN")
    texts = [r["text"] for r in harness.wait_responses(3)]
    assert any(t.startswith("MLOps status — staging: v1; production: v1") for t in texts)
    assert any("Deployment history" in t or "No deployments" in t for t in texts)
    assert any(t.startswith("Model v2: PendingManualApproval") for t in texts)
    assert all(r["response_type"] == "ephemeral" for r in harness.slack.responses())


def test_train_posts_a_run_message(harness: Harness) -> None:
    platform = harness.services.platform
    runs_before = len(platform.list_executions(100))
    response = harness.command("train max_depth=3", "UALICE")
    assert "Working on" in response.body
    reply = harness.wait_responses(1)[-1]
    assert "Started a training run (max_depth=3)" in reply["text"]
    run = harness.slack.wait_for(lambda: [m for m in harness.slack.top_level() if "Training run" in m.text])[
        0
    ]
    assert run.channel == CHANNEL and "Executing" in run.text
    # where it comes from: the checkout's commit and its log file, relative to the home
    blocks = json.dumps(run.blocks)
    assert f"git `{detect(code_root()).sha[:12]}`" in blocks
    suffix = platform.list_executions(1)[0].execution_id.rsplit("/", 1)[-1]
    assert f"*Logs* `logs/runs/{suffix}.log`" in blocks
    runs = platform.list_executions(100)
    assert len(runs) == runs_before + 1 and runs[0].requested_by == "UALICE"
    # the platform records every parameter; only the one given differs from its default
    specs = platform.pipeline_parameters()
    changed = {
        name: value
        for name, value in runs[0].parameters.items()
        if name in specs and (value if specs[name].type == "string" else float(value)) != specs[name].default
    }
    assert changed == {"max_depth": "3"}
    # and the policy it ran under, which no caller sets
    assert runs[0].parameters["ModelApprovalStatus"] == "PendingManualApproval"


def test_reject_button_opens_a_modal_and_the_submission_rejects(harness: Harness) -> None:
    harness.click("release_reject", '{"v":2}', "UBOB")
    opened = harness.slack.wait_for(lambda: harness.slack.calls("views.open"))[0].args
    view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
    assert view["callback_id"] == "reject_reason"
    assert json.loads(view["private_metadata"]) == {"v": 2, "channel": CHANNEL}
    blank = harness.dispatch(harness.view_body(2, "   ", user="UBOB"))
    assert "needs a reason" in blank.body
    ok = harness.dispatch(harness.view_body(2, "label leak", user="UBOB"))
    assert ok.status == 200 and ok.body == ""
    harness.slack.wait_for(lambda: harness.slack.calls("chat.postEphemeral"), what="ephemeral")
    assert harness.services.platform.describe_model_package(2).approval_status is ApprovalStatus.REJECTED
    card = harness.slack.wait_for(
        lambda: [m for m in harness.slack.top_level() if m.text.startswith("Model v2")]
    )[0]
    assert buttons(card.blocks) == {}
    assert "Rejected by <@UBOB>" in json.dumps(card.blocks) and "label leak" in json.dumps(card.blocks)


def test_rollback_asks_first_and_only_confirm_acts(harness: Harness) -> None:
    platform = harness.services.platform
    platform.update_approval(2, ApprovalStatus.APPROVED, "ok")
    platform.deploy("production", 2, "UCAROL")  # outside the bot, as from the console
    harness.settle()
    harness.command("rollback production", "UDAVE")
    ask = harness.wait_responses(1)[-1]
    assert "endpoint `mlops-xgboost-production` goes from *v2* to *v1*" in json.dumps(ask["blocks"])
    values = buttons(ask["blocks"])
    assert set(values) == {"rollback_confirm", "rollback_cancel"}
    before = harness.state()
    harness.click("rollback_cancel", values["rollback_cancel"], "UDAVE")
    assert harness.wait_responses(2)[-1]["text"] == "Rollback cancelled; nothing changed."
    assert harness.state() == before
    harness.click("rollback_confirm", values["rollback_confirm"], "UDAVE")
    done = harness.wait_responses(3)[-1]
    assert done["replace_original"] is True and "Rolled back production to v1 (was v2)" in done["text"]
    assert platform.describe_endpoint("production").version == 1
    # the same confirmation clicked again is out of date: production no longer serves v2
    harness.click("rollback_confirm", values["rollback_confirm"], "UDAVE")
    assert "not v2 as when you were asked" in harness.wait_responses(4)[-1]["text"]
    assert platform.describe_endpoint("production").version == 1
    audit = harness.services.release.audit(5)
    assert any(
        e.action is Action.ROLLBACK and e.outcome is Outcome.DONE and e.actor_id == "UDAVE" for e in audit
    )


def test_unknown_action_and_stale_values_are_acknowledged_and_change_nothing(harness: Harness) -> None:
    before = harness.state()
    assert harness.click("no_such_button", "x", "UCAROL").status == 200
    harness.click("release_promote", "not json", "UROSE")
    assert "out of date" in harness.wait_responses(1)[-1]["text"]
    harness.click("release_promote", '{"v": true}', "UROSE")
    assert "out of date" in harness.wait_responses(2)[-1]["text"]
    assert harness.state() == before


def test_bad_or_stale_signatures_are_rejected(harness: Harness) -> None:
    before = harness.state()
    body = harness.command_body("approve v2", "UBOB")
    assert harness.dispatch(body, harness.headers(body, secret="wrong")).status == 401
    assert harness.dispatch(body, harness.headers(body, timestamp=int(time.time()) - 600)).status == 401
    tampered = harness.headers(body)
    assert harness.dispatch(body.replace("v2", "v1"), tampered).status == 401
    harness.idle()
    assert harness.state() == before and harness.services.release.audit(5) == []


def test_lazy_work_also_runs_with_process_before_response(
    release_home: Path, local_slack: LocalSlack, close_later: Closer
) -> None:
    services = make_services(release_home)
    h = make_harness(local_slack, services, process_before_response=True)
    try:
        response = h.command("approve v2", "UBOB")
        assert response.status == 200 and "Working on" in response.body
        assert "Approved v2" in h.wait_responses(1)[-1]["text"]
        assert services.platform.describe_model_package(2).approval_status is ApprovalStatus.APPROVED
    finally:
        drain(h.app, services)
        close_later(services.close)


# -- properties ------------------------------------------------------------------------------

TEXT = st.one_of(
    st.text(max_size=200),
    st.builds(
        lambda cmd, rest: f"{cmd} {rest}",
        st.sampled_from([a.value for a in Action]),
        st.text(max_size=100),
    ),
    st.text(min_size=3000, max_size=6000),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXT)
def test_any_command_text_from_someone_without_roles_is_acked_and_changes_nothing(
    fresh_harness: Fresh, text: str
) -> None:
    with fresh_harness() as harness:
        before = harness.state()
        response = harness.command(text, "UERIN")
        assert response.status == 200
        harness.idle()
        assert harness.state() == before


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXT, user=st.sampled_from(["UALICE", "UBOB", "UCAROL"]))
def test_any_command_text_is_acked_without_errors(
    fresh_harness: Fresh, caplog: pytest.LogCaptureFixture, text: str, user: str
) -> None:
    caplog.clear()
    with caplog.at_level(logging.ERROR), fresh_harness() as harness:
        response = harness.command(text, user)
        harness.idle()  # errors in the work done after the ack count too
    assert response.status == 200
    assert not [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.startswith(("slack_bolt", "handlers", "bot", "runtimes"))
    ]


VALUES = st.one_of(
    st.text(max_size=300),
    st.text(min_size=2000, max_size=5000),
    st.builds(
        lambda v: json.dumps({"v": v}), st.one_of(st.integers(), st.text(max_size=20), st.floats(), st.none())
    ),
    st.builds(
        lambda e, f, t: json.dumps({"env": e, "from": f, "to": t}),
        st.text(max_size=12),
        st.integers(-5, 5),
        st.integers(-5, 5),
    ),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    value=VALUES,
    action_id=st.sampled_from(
        [
            "release_approve",
            "release_approve_form",
            "release_reject",
            "release_promote",
            "release_rollback",
            "rollback_confirm",
            "rollback_cancel",
        ]
    ),
)
def test_any_button_value_from_someone_without_roles_is_acked_and_changes_nothing(
    fresh_harness: Fresh, value: str, action_id: str
) -> None:
    with fresh_harness() as harness:
        before = harness.state()
        assert harness.click(action_id, value, "UERIN").status == 200
        harness.idle()
        assert harness.state() == before


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=VALUES, action_id=st.sampled_from(["release_promote", "release_rollback", "rollback_confirm"]))
def test_any_button_value_is_acked_and_never_errors(
    fresh_harness: Fresh, caplog: pytest.LogCaptureFixture, value: str, action_id: str
) -> None:
    caplog.clear()
    with caplog.at_level(logging.ERROR), fresh_harness() as harness:
        assert harness.click(action_id, value, "UCAROL").status == 200
        harness.idle()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_typed_promote_asks_first_and_only_confirm_acts(harness: Harness) -> None:
    harness.command("approve v2 looks good", "UBOB")
    harness.wait_responses(1)
    harness.settle()
    assert harness.services.release.view(2).validation is not None
    before = harness.state()
    harness.command("promote v2", "UROSE")
    ask = harness.wait_responses(2)[-1]
    endpoint = harness.services.platform.endpoint_name("production")
    assert f"endpoint `{endpoint}` goes from *v1* to *v2*" in json.dumps(ask["blocks"])
    values = buttons(ask["blocks"])
    assert set(values) == {"promote_confirm", "promote_cancel"}
    assert harness.state() == before  # asking changed nothing
    harness.click("promote_cancel", values["promote_cancel"], "UROSE")
    assert harness.wait_responses(3)[-1]["text"] == "Promote cancelled; nothing changed."
    # the permission is checked again at the confirm: bob approves, but does not release
    harness.click("promote_confirm", values["promote_confirm"], "UBOB")
    assert "You need the *releaser* role" in harness.wait_responses(4)[-1]["text"]
    assert harness.state() == before
    harness.click("promote_confirm", values["promote_confirm"], "UROSE")
    done = harness.wait_responses(5)[-1]
    assert done["replace_original"] is True and "Promoted v2 to production (was v1)" in done["text"]
    assert harness.services.platform.describe_endpoint("production").version == 2


def test_a_typed_promote_that_cannot_happen_says_why_at_once(harness: Harness) -> None:
    before = harness.state()
    harness.command("promote v2", "UROSE")
    text = harness.wait_responses(1)[-1]["text"]
    assert "v2 is PendingManualApproval: only Approved versions can be promoted. Nothing changed." in text
    harness.command("promote v1", "UROSE")
    assert "production already serves v1. Nothing changed." in harness.wait_responses(2)[-1]["text"]
    harness.command("promote v9", "UROSE")
    assert "Model version v9 does not exist. Nothing changed." in harness.wait_responses(3)[-1]["text"]
    assert harness.state() == before


def test_a_card_shows_the_commit_it_was_trained_from_and_a_log_path_inside_the_home(
    harness: Harness, release_home: Path
) -> None:
    checkout = detect(code_root())
    harness.command("status v1", "UERIN")
    card = harness.wait_responses(1)[-1]
    body = json.dumps(card["blocks"])
    lineage = harness.services.platform.describe_model_package(1).lineage
    assert lineage["git_sha"] == checkout.sha  # the checkout the run came from
    # whether the tree had changes is as when the run started (files may change since)
    dirty = " (uncommitted changes)" if lineage.get("git_dirty") == "true" else ""
    assert f"*Git* `{checkout.sha[:12]}`{dirty}" in body
    assert lineage["logs"].startswith("logs/runs/") and f"*Logs* `{lineage['logs']}`" in body
    assert str(release_home) not in body and str(Path.home()) not in body
    # and what its drift baseline holds, from the baseline itself
    baseline = harness.services.platform.baseline(1)
    assert baseline is not None
    numeric = sum(1 for f in baseline["features"].values() if f["kind"] == "numeric")
    expected = (
        f"Drift baseline: {len(baseline['features'])} features of {baseline['rows']:,} training rows "
        f"({numeric} numeric in decile bins, {len(baseline['features']) - numeric} categorical)"
    )
    assert expected in body


def test_a_version_without_a_baseline_says_so_on_status(harness: Harness, monkeypatch: Any) -> None:
    monkeypatch.setattr(harness.services.platform, "baseline", lambda version: None)
    harness.command("status v1", "UERIN")
    body = json.dumps(harness.wait_responses(1)[-1]["blocks"])
    assert "No drift baseline: this version's training run wrote none." in body


def test_a_run_parameter_cannot_set_the_commit(harness: Harness) -> None:
    before = harness.state()
    response = harness.command("train git_sha=deadbeefdeadbeef", "UALICE")
    assert "Unknown training parameter `git_sha`" in json.loads(response.body)["text"]
    harness.idle()
    assert harness.state() == before and harness.respond_count() == 0
