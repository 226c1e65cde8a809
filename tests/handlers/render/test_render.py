"""Block Kit rendering: limits respected, buttons only when they apply, text fallbacks present."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, HeaderBlock, SectionBlock

from bot.core.models import ApprovalStatus, Decision, DeploymentRecord, ValidationReport, VersionView
from handlers.render.release_card import CardState, render_card
from handlers.render.run_message import render_run
from ml.platform import Execution, ExecutionStatus, ModelPackage, StepInfo, StepStatus

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
METRICS = {"accuracy": 0.871, "precision": 0.7, "recall": 0.6, "f1": 0.65, "auc": 0.9}


def package(version: int, status: ApprovalStatus, lineage: dict[str, str] | None = None) -> ModelPackage:
    return ModelPackage(
        version,
        f"arn:{version}",
        "mlops-xgboost",
        status,
        T0,
        None,
        METRICS,
        lineage=lineage or {"requested_by": "UALICE", "threshold": "0.8", "git_sha": "abc1234def"},
    )


def view(
    version: int = 3,
    status: ApprovalStatus = ApprovalStatus.PENDING,
    envs: tuple[str, ...] = (),
    validation: bool | None = None,
    prod: int | None = 1,
    lineage: dict[str, str] | None = None,
) -> VersionView:
    report = None
    if validation is not None:
        report = ValidationReport(version, "staging", validation, T0, "local", "accuracy 0.870")
    # A decided version carries the bot's decision; one approved outside the bot has none.
    decision = None if status is ApprovalStatus.PENDING else Decision(version, status, "UBOB", "bob", T0)
    return VersionView(
        package(version, status, lineage),
        decision,
        report,
        envs,  # type: ignore[arg-type]
        {**METRICS, "accuracy": 0.867} if prod else None,
        prod,
    )


def parsed(blocks: list[dict[str, Any]]) -> list[Block]:
    return [Block.parse(b) for b in blocks]  # type: ignore[misc]


def action_ids(blocks: list[dict[str, Any]]) -> set[str]:
    ids: set[str] = set()
    for block in parsed(blocks):
        if isinstance(block, ActionsBlock):
            ids.update(e.action_id for e in block.elements)
    return ids


def test_pending_card_offers_approve_and_reject_only() -> None:
    text, blocks = render_card(CardState(view()))
    assert text.startswith("Model v3")
    assert action_ids(blocks) == {"release_approve_form", "release_reject"}
    values = [e.value for b in parsed(blocks) if isinstance(b, ActionsBlock) for e in b.elements]
    assert all(json.loads(v) == {"v": 3} for v in values)
    fields = next(b for b in parsed(blocks) if isinstance(b, SectionBlock) and b.fields).fields
    assert "0.871 (+0.004 vs v1)" in fields[0].text


def _labels(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["text"]["text"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def _why(blocks: list[dict[str, Any]]) -> str:
    return " ".join(
        e["text"] for b in blocks if str(b.get("block_id", "")).startswith("why-") for e in b["elements"]
    )


def test_validated_approved_card_offers_promote_which_asks_first() -> None:
    _, blocks = render_card(
        CardState(view(status=ApprovalStatus.APPROVED, envs=("staging",), validation=True))
    )
    assert action_ids(blocks) == {"release_promote"}
    assert _labels(blocks) == ["Promote v3 to production…"]  # names its action and version
    assert '"confirm"' not in json.dumps(blocks)  # the question is the typed command's, not a dialog
    assert _why(blocks) == ""


def test_each_button_names_its_action_and_version() -> None:
    _, blocks = render_card(CardState(view(status=ApprovalStatus.PENDING)))
    assert _labels(blocks) == ["Approve v3…", "Reject v3…"]  # each opens a form
    v = view(status=ApprovalStatus.APPROVED, envs=("production",), validation=True, prod=3)
    assert _labels(render_card(CardState(v, rollback_to=2))[1]) == ["Roll back production to v2…"]


def test_a_card_without_promote_says_why() -> None:
    pending = render_card(CardState(view(status=ApprovalStatus.PENDING)))[1]
    assert _why(pending) == "Promote is not offered: it is not approved yet."
    unvalidated = render_card(CardState(view(status=ApprovalStatus.APPROVED, envs=("staging",))))[1]
    assert _why(unvalidated) == "Promote is not offered: its staging validation has not run yet."
    failed = view(status=ApprovalStatus.APPROVED, envs=("staging",), validation=False)
    assert _why(render_card(CardState(failed))[1]) == "Promote is not offered: its staging validation failed."
    serving = view(status=ApprovalStatus.APPROVED, envs=("production",), validation=True, prod=3)
    assert _why(render_card(CardState(serving))[1]) == "Promote is not offered: it already serves production."


def test_failed_validation_offers_nothing() -> None:
    _, blocks = render_card(
        CardState(view(status=ApprovalStatus.APPROVED, envs=("staging",), validation=False))
    )
    assert action_ids(blocks) == set()


def test_production_card_offers_rollback_only_with_an_earlier_version() -> None:
    v = view(status=ApprovalStatus.APPROVED, envs=("production",), validation=True, prod=3)
    assert action_ids(render_card(CardState(v, rollback_to=2))[1]) == {"release_rollback"}
    assert action_ids(render_card(CardState(v, rollback_to=None))[1]) == set()


def test_rejected_card_offers_nothing_and_shows_who() -> None:
    decision = Decision(3, ApprovalStatus.REJECTED, "UBOB", "bob", T0, "label leak <!channel>")
    v = view(status=ApprovalStatus.REJECTED)
    v = VersionView(v.package, decision, None, (), None, None)
    _, blocks = render_card(CardState(v))
    dumped = json.dumps(blocks)
    assert action_ids(blocks) == set()
    assert "Rejected by <@UBOB>" in dumped
    assert "<!channel>" not in dumped  # user text is escaped, it cannot ping the channel


def test_card_with_huge_lineage_stays_within_block_kit_limits() -> None:
    lineage = {
        "requested_by": "UALICE",
        "threshold": "0.8",
        "git_sha": "g" * 5000,
        "dataset_sha256": "d" * 5000,
        "execution_id": "e" * 5000,
        "parameters": json.dumps({f"param_{i}": "x" * 300 for i in range(100)}),
    }
    decision = Decision(3, ApprovalStatus.APPROVED, "UBOB", "b" * 500, T0, "r" * 5000)
    deployments = [
        DeploymentRecord("staging", 3, 2, "UCAROL", "carol", T0 + timedelta(minutes=i)) for i in range(200)
    ]
    base = view(
        status=ApprovalStatus.APPROVED,
        envs=("production", "staging"),
        validation=True,
        prod=3,
        lineage=lineage,
    )
    v = VersionView(base.package, decision, base.validation, base.environments, base.production_metrics, 3)
    text, blocks = render_card(CardState(v, deployments, rollback_to=2))
    assert text and len(text) <= 3000
    assert len(blocks) <= 50
    for block in parsed(blocks):
        block.validate_json()  # raises on any Block Kit limit violation
        if isinstance(block, SectionBlock):
            assert block.text is None or len(block.text.text) <= 3000
            assert len(block.fields or []) <= 10
        if isinstance(block, HeaderBlock):
            assert len(block.text.text) <= 150
        if isinstance(block, ActionsBlock):
            for element in block.elements:
                assert len(element.text.text) <= 75 and len(element.value) <= 2000


def test_run_message_shows_each_step_and_the_failing_one() -> None:
    steps = (
        StepInfo("PreprocessData", StepStatus.SUCCEEDED, T0, T0 + timedelta(seconds=12)),
        StepInfo("TrainModel", StepStatus.FAILED, T0, T0 + timedelta(seconds=65), "OOM in worker"),
    )
    execution = Execution(
        "arn:x/execution/abc",
        ExecutionStatus.FAILED,
        {"eta": "0.1"},
        "UALICE",
        "abc",
        T0,
        T0 + timedelta(seconds=80),
        "step TrainModel failed",
        steps,
    )
    text, blocks = render_run(execution)
    dumped = json.dumps(blocks, ensure_ascii=False)
    assert text == "Training run abc: Failed"
    assert "*PreprocessData* — Succeeded (12s)" in dumped
    assert "*TrainModel* — Failed (1m 05s)" in dumped
    assert "Failed at *TrainModel*: step TrainModel failed" in dumped
    assert "*RegisterModel* — Pending" in dumped
    assert all(b.validate_json() is None for b in parsed(blocks))


def test_run_message_names_the_registered_version() -> None:
    execution = Execution("abc", ExecutionStatus.SUCCEEDED, {}, "UALICE", None, T0, T0, None, (), 4)
    text, blocks = render_run(execution)
    assert text.endswith("registered v4")
    assert "Registered *v4*: its release card is in the channel." in json.dumps(blocks)
    assert "follows" not in json.dumps(blocks)  # the card is posted before this update


def test_a_run_has_one_message_key_whether_named_by_arn_or_short_id() -> None:
    from handlers.render.run_message import run_key

    arn = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/churn-xgb/execution/k2v9d0q7wz1m"
    assert run_key(arn) == run_key("k2v9d0q7wz1m") == "run:k2v9d0q7wz1m"
    assert run_key("k2v9d0q7wz1m") != run_key("a1b2c3d4e5f6")


def test_the_card_lists_changed_parameters_and_names_the_data_set_without_its_folder() -> None:
    recorded = {
        "InputData": "/home/ci/private/projects/adult-sample.data",
        "AccuracyThreshold": "0.8",
        "ModelApprovalStatus": "PendingManualApproval",
        "TargetColumn": "income",
        "eta": "0.2",
        "max_depth": "4",
        "num_round": "100",
    }
    lineage = {
        "requested_by": "UALICE",
        "threshold": "0.8",
        "dataset_sha256": "9229950f4536aa",
        "parameters": json.dumps(recorded),
    }
    _, blocks = render_card(CardState(view(lineage=lineage)))
    text = json.dumps(blocks, ensure_ascii=False)
    assert "/home/ci" not in text and "private" not in text
    assert "*Dataset* `adult-sample.data` · sha256 `9229950f4536`" in text
    assert "*Parameters* `max_depth=4`" in text  # eta, num_round and TargetColumn are the defaults
    s3 = {**lineage, "parameters": json.dumps({"InputData": "s3://bucket/data/adult.data", "eta": "0.2"})}
    text = json.dumps(render_card(CardState(view(lineage=s3)))[1])
    assert "`adult.data`" in text and "bucket" not in text and "*Parameters* `defaults`" in text


def test_a_metric_equal_at_the_shown_precision_says_so() -> None:
    v = view()
    equal = VersionView(
        v.package, v.decision, v.validation, v.environments, {**METRICS, "accuracy": 0.8712}, 1
    )
    fields = next(
        b for b in parsed(render_card(CardState(equal))[1]) if isinstance(b, SectionBlock) and b.fields
    )
    assert "0.871 (= v1)" in fields.fields[0].text
    assert "0.700 (= v1)" in fields.fields[1].text


def test_run_message_lists_changed_parameters_and_the_data_file_without_its_folder() -> None:
    recorded = {
        "InputData": "/srv/bot/.mlops/data/adult-sample.data",
        "AccuracyThreshold": "0.8",
        "ModelApprovalStatus": "PendingManualApproval",
        "eta": "0.2",
        "num_round": "20",
    }
    execution = Execution(
        "abc", ExecutionStatus.EXECUTING, recorded, "UALICE", None, T0, None, None, (), None
    )
    text = json.dumps(render_run(execution, T0)[1])
    assert "/srv/bot" not in text and "ModelApprovalStatus" not in text
    assert "`num_round=20 on adult-sample.data`" in text
