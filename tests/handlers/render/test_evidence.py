"""The card's evidence sections: champion against challenger, verdicts, data, validation, package."""

from __future__ import annotations

import json
from typing import Any

from bot.core.evidence import build_evidence
from bot.core.models import ApprovalStatus, ValidationReport, VersionView
from handlers.render.common import MAX_BLOCKS, MAX_SECTION_TEXT
from handlers.render.evidence import evidence_blocks
from handlers.render.release_card import CardState, render_card
from ml.evidence.rules import parse_rules
from ml.platform import ModelPackage
from tests.handlers.escaping import HOSTILE, LINK_PREFIXES, T0, problems

RULES = parse_rules("accuracy >= 0.8; auc >= champion - 0.01")
METRICS = {"accuracy": 0.871, "precision": 0.77, "recall": 0.66, "f1": 0.71, "auc": 0.90}
CONSOLE = "https://eu-west-1.console.aws.amazon.com/"  # the card's own registry link
ARN = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/mlops-xgboost/3"
REPORT: dict[str, Any] = {
    "classification_metrics": {"confusion_matrix": {"0": {"0": 50, "1": 5}, "1": {"0": 7, "1": 38}}},
    "rows": 100,
    "data": {"dataset_sha256": "cd" * 32, "train_rows": 466},
}


def _view(prod: int | None, validation: ValidationReport | None = None, version: int = 3) -> VersionView:
    pkg = ModelPackage(
        version,
        ARN,
        "mlops-xgboost",
        ApprovalStatus.PENDING,
        T0,
        metrics=METRICS,
        lineage={"git_sha": "abc1234def", "validation_rows": "99"},
    )
    champion = {**METRICS, "auc": 0.93, "accuracy": 0.86} if prod is not None else None
    return VersionView(pkg, None, validation, (), champion, prod)


def _text(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(b["text"]["text"] for b in blocks if b.get("text"))


def test_against_a_champion_each_metric_has_its_delta_and_each_rule_a_verdict() -> None:
    evidence = build_evidence(_view(prod=2), REPORT, RULES)
    text, blocks = render_card(CardState(_view(prod=2), evidence=evidence))
    shown = _text(blocks)
    assert "*Evidence* · Champion: v2, which production serves." in shown
    assert "metric           v3       v2        Δ" in shown
    assert (
        "accuracy      0.871    0.860   +0.011" in shown and "auc           0.900    0.930   -0.030" in shown
    )
    assert "✔ `accuracy &gt;= 0.8` (0.871)" in shown
    assert "✘ `auc &gt;= champion - 0.01` (0.900 vs 0.920)" in shown
    assert f"*Data* sha256 `{'cd' * 8}` · rows train 466 · validation 99 · test 100" in shown
    assert "*Staging validation* not run yet" in shown
    assert f"*Model package* `{ARN}`" in shown
    assert "*Confusion matrix* in this thread" in shown
    assert not problems({"text": text, "blocks": blocks}, links=(*LINK_PREFIXES, CONSOLE))


def test_without_a_champion_the_card_says_so_and_leaves_relative_rules_unjudged() -> None:
    evidence = build_evidence(_view(prod=None), None, RULES)
    shown = _text([b.to_dict() for b in evidence_blocks(evidence, "mlops-xgboost")])
    assert "No champion: production serves no model yet." in shown
    assert "metric           v3\n" in shown and "Δ" not in shown
    assert "– `auc &gt;= champion - 0.01`: not judged, no champion" in shown
    assert "rows train not recorded · validation 99 · test not recorded" in shown
    assert "Confusion matrix" not in shown


def test_staging_checks_from_outside_are_escaped_and_the_card_stays_within_limits() -> None:
    checks = [{"name": h * 40, "passed": i % 2 == 0, "detail": h * 200} for i, h in enumerate(HOSTILE)]
    validation = ValidationReport(3, "staging", False, T0, "ci:" + "<!channel>" * 30, "x", {"checks": checks})
    view = _view(prod=2, validation=validation)
    text, blocks = render_card(CardState(view, evidence=build_evidence(view, REPORT, RULES)))
    assert not problems({"text": text, "blocks": blocks}, links=(*LINK_PREFIXES, CONSOLE))
    assert len(blocks) <= MAX_BLOCKS
    assert all(len(b["text"]["text"]) <= MAX_SECTION_TEXT for b in blocks if b.get("text"))
    shown = _text(blocks)
    assert "*Staging validation* FAILED" in shown and f"*Model package* `{ARN}`" in shown
    assert "✔ &lt;!channel&gt;" in shown and "✘ &lt;!here&gt;" in shown  # the checks, marked and inert
    assert f"… {len(HOSTILE) - 8} more checks" in shown
    assert len(json.dumps(blocks, ensure_ascii=False)) < 12_000
