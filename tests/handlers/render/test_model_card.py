"""The model card export: stable JSON fields, Markdown with outside text made literal, the chat's reply."""

from __future__ import annotations

import json
import re

from bot.core.evidence import build_evidence
from bot.core.models import (
    Action,
    ApprovalStatus,
    AuditEntry,
    Decision,
    DeploymentRecord,
    Outcome,
    ValidationReport,
    VersionView,
)
from handlers.render.model_card import card_document, card_markdown, md_escape, render_model_card
from handlers.render.release_card import CardState
from ml.evidence.rules import parse_rules
from ml.platform import ModelPackage
from tests.handlers.escaping import HOSTILE, T0, assert_safe

FIELDS = {
    "format",
    "format_version",
    "version",
    "model_package_group",
    "model_package_arn",
    "created_at",
    "approval_status",
    "artifact",
    "git_sha",
    "trained_by",
    "lineage",
    "serving",
    "champion",
    "metrics",
    "rules",
    "rules_met",
    "data",
    "confusion_matrix",
    "staging_validation",
    "decision",
    "deployments",
    "audit",
    "links",
}
EVIL = (
    "[click](https://evil.example) <img src=x onerror=alert(1)> *bold* | pipe `tick` "
    "www.evil.example a@b.example\n# heading"
)
ARN = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/mlops-xgboost/3"
REPORT = {
    "classification_metrics": {"confusion_matrix": {"0": {"0": 50, "1": 5}, "1": {"0": 7, "1": 38}}},
    "rows": 100,
    "data": {"dataset_sha256": "cd" * 32, "train_rows": 466},
}


def _state(hostile: str = "") -> tuple[CardState, list[AuditEntry]]:
    pkg = ModelPackage(
        3,
        ARN,
        "mlops-xgboost",
        ApprovalStatus.APPROVED,
        T0,
        metrics={"accuracy": 0.871, "auc": 0.9},
        artifact_uri="s3://bucket/model.tar.gz",
        artifact_sha256="ef" * 32,
        lineage={"git_sha": "abc1234def", "requested_by": "alice" + hostile, "note": hostile},
    )
    decision = Decision(
        3, ApprovalStatus.APPROVED, "UBOB", "bob" + hostile, T0, reason="looks fine" + hostile
    )
    checks = [{"name": "accuracy" + hostile, "passed": True, "detail": "0.87 >= 0.8" + hostile}]
    validation = ValidationReport(3, "staging", True, T0, "local:carol", "ok" + hostile, {"checks": checks})
    view = VersionView(pkg, decision, validation, ("staging",), {"accuracy": 0.86, "auc": 0.93}, 2)
    deployments = [DeploymentRecord("staging", 3, 2, "UCAROL", "carol" + hostile, T0)]
    audit = [AuditEntry(T0, "UBOB", "bob" + hostile, Action.APPROVE, Outcome.DONE, "v3", hostile, 3)]
    evidence = build_evidence(view, REPORT, parse_rules("accuracy >= 0.8; auc >= champion - 0.01"))
    return CardState(view, deployments, evidence=evidence), audit


def test_the_json_document_has_its_documented_fields_and_round_trips() -> None:
    state, audit = _state()
    doc = card_document(state, audit)
    assert set(doc) == FIELDS and (doc["format"], doc["format_version"]) == ("mlops-bot/model-card", 1)
    assert json.loads(json.dumps(doc)) == doc
    assert doc["champion"] == {"version": 2, "is_this_version": False}
    assert [r["passed"] for r in doc["rules"]] == [True, False] and doc["rules_met"] is False
    assert doc["data"] == {
        "dataset_sha256": "cd" * 32,
        "train_rows": 466,
        "validation_rows": None,
        "test_rows": 100,
    }
    assert doc["confusion_matrix"] == {"tn": 50, "fp": 5, "fn": 7, "tp": 38}
    assert doc["decision"]["actor_name"] == "bob" and doc["deployments"][0]["environment"] == "staging"
    assert doc["staging_validation"]["checks"] == [
        {"name": "accuracy", "passed": True, "detail": "0.87 >= 0.8"}
    ]
    assert doc["links"]["model_registry"].startswith("https://eu-west-1.console.aws.amazon.com/sagemaker/")
    auc = next(m for m in doc["metrics"] if m["name"] == "auc")
    assert auc["delta"] == -0.03 or abs(auc["delta"] + 0.03) < 1e-9


def test_markdown_has_every_part_and_hostile_names_stay_literal() -> None:
    state, audit = _state(" " + EVIL)
    text = card_markdown(card_document(state, audit))
    for heading in (
        "# Model card: mlops-xgboost v3",
        "## Champion and challenger",
        "## Data",
        "## Decisions",
    ):
        assert f"\n{heading}\n" in f"\n{text}"
    assert "| Actual negative | 50 | 5 |" in text and "- ✘ auc &gt;= champion - 0.01 (0.900)" in text
    # outside text: no link, image, HTML, emphasis, table cell break, heading or autolink survives
    assert "[click](" not in text and "<img" not in text and "*bold*" not in text
    assert "\\[click\\]\\(https\\://evil.example\\)" in text and "&lt;img" in text
    assert "www\\.evil" in text and "a\\@b" in text and "\\| pipe" in text
    assert not re.search(r"^#+ heading", text, re.MULTILINE)  # a newline in a name cannot start a heading
    hostile_lines = [line for line in text.splitlines() if "evil" in line]
    assert len(hostile_lines) >= 6  # trainer, lineage, decision, check, audit, deployment
    assert all(line.count("|") == line.count("\\|") for line in hostile_lines)  # no bare pipe


def test_md_escape_is_one_line_and_leaves_plain_text_alone() -> None:
    assert md_escape("v3 at 2026-03-01T12:00:00+00:00") == "v3 at 2026-03-01T12:00:00+00:00"
    assert md_escape("a\n\nb") == "a b"
    assert md_escape("<b>&") == "&lt;b&gt;&amp;"


def test_the_chat_reply_holds_the_markdown_in_code_blocks_and_is_inert_in_slack() -> None:
    state, audit = _state(" " + "".join(HOSTILE))
    text, blocks = render_model_card(card_document(state, audit))
    assert text == "Model card · v3" and blocks[0]["type"] == "header"
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert sections and all(s.startswith("```\n") and s.endswith("```") and len(s) <= 3000 for s in sections)
    assert_safe({"text": text, "blocks": blocks})
