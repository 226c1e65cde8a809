"""Promotion rules: the grammar, its refusals, and the verdicts with and without a champion."""

from __future__ import annotations

import pytest

from ml.evidence.rules import DEFAULT_RULES, Rule, RuleError, judge, parse_rules


def test_the_default_rules_parse_into_a_fixed_bound_and_one_against_the_champion() -> None:
    fixed, relative = parse_rules(DEFAULT_RULES)
    assert fixed == Rule("accuracy", ">=", 0.8)
    assert relative == Rule("auc", ">=", -0.01, against_champion=True)
    assert (fixed.text, relative.text) == ("accuracy >= 0.8", "auc >= champion - 0.01")


def test_spacing_case_and_empty_rules_are_forgiven() -> None:
    rules = parse_rules("  F1>0.5 ;; recall <= CHAMPION+0.2; precision == champion ;")
    assert [r.text for r in rules] == ["f1 > 0.5", "recall <= champion + 0.2", "precision == champion"]
    assert parse_rules("") == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("acc >= 0.8", "unknown metric 'acc'; valid: accuracy, precision, recall, f1, auc"),
        ("auc >> 0.8", "is not 'metric op bound'"),
        ("auc >= champion * 2", "is not 'metric op bound'"),
        ("auc >= -1", "is not 'metric op bound'"),
        ("accuracy", "is not 'metric op bound'"),
    ],
)
def test_a_bad_rule_is_named_with_what_is_allowed(text: str, expected: str) -> None:
    with pytest.raises(RuleError) as err:
        parse_rules(f"accuracy >= 0.8; {text}")
    assert expected in str(err.value) and repr(text) in str(err.value)


def test_verdicts_against_a_champion() -> None:
    rules = parse_rules("accuracy >= 0.8; auc >= champion - 0.01; f1 > champion")
    metrics = {"accuracy": 0.8, "auc": 0.905, "f1": 0.70}
    champion = {"accuracy": 0.9, "auc": 0.92, "f1": 0.70}
    accuracy, auc, f1 = judge(rules, metrics, champion)
    assert (accuracy.passed, accuracy.bound) == (True, 0.8)  # equal at the report's precision holds
    assert auc.passed is False and auc.bound == pytest.approx(0.91) and auc.value == 0.905
    assert f1.passed is False  # strictly better was asked


def test_without_a_champion_relative_rules_are_not_judged_and_say_why() -> None:
    rules = parse_rules("accuracy >= 0.8; auc >= champion - 0.01")
    accuracy, auc = judge(rules, {"accuracy": 0.7, "auc": 0.9}, None)
    assert accuracy.passed is False
    assert (auc.passed, auc.why) == (None, "no champion")
    (missing,) = judge(parse_rules("recall >= 0.5"), {"accuracy": 0.9}, None)
    assert (missing.passed, missing.why) == (None, "recall not recorded")
    (gap,) = judge(parse_rules("auc >= champion"), {"auc": 0.9}, {"accuracy": 0.9})
    assert (gap.passed, gap.why) == (None, "the champion has no auc")
