"""The card's evidence: champion against challenger with a verdict per promotion rule, the data set,
staging validation's checks, and the model package. Two sections, within Slack's limits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_sdk.models.blocks import Block

from bot.core.evidence import DataFacts, Evidence
from bot.slack_text import escape
from ml.evidence.rules import Verdict

from .common import code, section, truncate

__all__ = ["evidence_blocks", "metrics_table", "rows_text", "verdict_line"]

VERDICT_MARK = {True: "✔", False: "✘", None: "–"}
#: checks listed on the card; a longer report shows the first ones and a count
MAX_CHECKS = 8


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def metrics_table(evidence: Evidence) -> str:
    """A fixed-width table: every metric of this version, the champion's and the difference."""
    own = f"v{evidence.version}"
    if evidence.champion_version is None or evidence.is_champion:
        rows = [f"{'metric':<10} {own:>8}"]
        rows += [f"{m.name:<10} {_number(m.value):>8}" for m in evidence.metrics]
    else:
        champ = f"v{evidence.champion_version}"
        rows = [f"{'metric':<10} {own:>8} {champ:>8} {'Δ':>8}"]
        for m in evidence.metrics:
            delta = "—" if m.delta is None else f"{m.delta:+.3f}"
            rows.append(f"{m.name:<10} {_number(m.value):>8} {_number(m.champion):>8} {delta:>8}")
    return "```\n" + "\n".join(rows) + "\n```"


def verdict_line(verdict: Verdict) -> str:
    """``✔ accuracy >= 0.8 (0.871)``; an unjudged rule says why."""
    mark = VERDICT_MARK[verdict.passed]
    rule = code(verdict.rule.text, 120)
    if verdict.passed is None:
        return f"{mark} {rule}: not judged, {escape(verdict.why)}"
    against = "" if not verdict.rule.against_champion else f" vs {verdict.bound:.3f}"
    return f"{mark} {rule} ({_number(verdict.value)}{against})"


def champion_line(evidence: Evidence) -> str:
    if evidence.champion_version is None:
        return "No champion: production serves no model yet."
    if evidence.is_champion:
        return f"v{evidence.version} is the champion: production serves it."
    return f"Champion: v{evidence.champion_version}, which production serves."


def rows_text(data: DataFacts) -> str:
    parts = [
        f"{name} {count:,}" if count is not None else f"{name} not recorded"
        for name, count in (
            ("train", data.train_rows),
            ("validation", data.validation_rows),
            ("test", data.test_rows),
        )
    ]
    return " · ".join(parts)


def _checks(report: Mapping[str, Any]) -> list[str]:
    checks = [c for c in report.get("checks", []) if isinstance(c, Mapping)]
    lines = [
        f"{VERDICT_MARK[bool(c.get('passed'))]} {escape(truncate(str(c.get('name', '?')), 60))}"
        + (f": {escape(truncate(str(c['detail']), 120))}" if c.get("detail") else "")
        for c in checks[:MAX_CHECKS]
    ]
    if len(checks) > MAX_CHECKS:
        lines.append(f"… {len(checks) - MAX_CHECKS} more checks")
    return lines


def _facts(evidence: Evidence) -> str:
    data = evidence.data
    digest = code(data.dataset_sha256[:16]) if data.dataset_sha256 else "not recorded"
    # the registry's console page is on the card's *Links* line already
    lines = [
        f"*Data* sha256 {digest} · rows {rows_text(data)}",
        f"*Model package* {code(evidence.model_package_arn, 300)}",
    ]
    if evidence.confusion is not None:
        lines.append("*Confusion matrix* in this thread")
    v = evidence.validation
    if v is None:
        lines.append("*Staging validation* not run yet")
    else:
        verdict = "passed" if v.passed else "FAILED"
        lines.append(f"*Staging validation* {verdict} ({escape(truncate(v.source, 80))})")
    return "\n".join(lines)


def evidence_blocks(evidence: Evidence, group: str) -> list[Block]:
    """The comparison with its verdicts; the data, package and validation; validation's checks."""
    verdicts = [verdict_line(v) for v in evidence.verdicts] or ["no promotion rules configured"]
    comparison = "\n".join([f"*Evidence* · {champion_line(evidence)}", metrics_table(evidence), *verdicts])
    blocks: list[Block] = [section(comparison), section(_facts(evidence))]
    if evidence.validation is not None and (checks := _checks(evidence.validation.report)):
        # on their own: long outside text there shortens the list, never the facts above
        blocks.append(section("\n".join(checks)))
    return blocks
