"""``/mlops drift ENV``: how far an environment's traffic has moved from its model's training baseline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from slack_sdk.models.blocks import Block

from bot.slack_text import escape

from .common import Message, code, context, fallback, header, section, to_dicts

if TYPE_CHECKING:
    from ml.drift.check import FeatureDrift
    from ml.drift.environment import EnvironmentDrift

__all__ = ["baseline_summary", "drift_card_key", "render_drift", "render_drift_unavailable"]

STATUS_EMOJI = {"ok": ":white_check_mark:", "warn": ":warning:", "drift": ":rotating_light:"}
#: features listed by PSI, highest first; the rest are summed up in one line
SHOWN = 6
FORMULA = "PSI = Σ (a − e) · ln(a / e) over the baseline's bins: below 0.1 ok, 0.1–0.25 warn, above drift."
#: width of the text bar that draws a PSI of 0.5 or more in full
BAR = 12


def drift_card_key(environment: str) -> str:
    """The one drift card of an environment, which the scheduled check keeps up to date."""
    return f"drift:{environment}"


def _bar(psi: float) -> str:
    filled = min(BAR, round(psi / 0.5 * BAR))
    return "█" * filled + "░" * (BAR - filled)


def _line(f: FeatureDrift) -> str:
    extra = []
    if f.kind == "categorical" and f.unseen_share:
        extra.append(f"{f.unseen_share:.1%} unseen")
    if abs(f.current_missing_rate - f.baseline_missing_rate) >= 0.01:
        extra.append(f"missing {f.baseline_missing_rate:.1%} → {f.current_missing_rate:.1%}")
    tail = f" · {', '.join(extra)}" if extra else ""
    return f"{STATUS_EMOJI[f.status]} `{_bar(f.psi)}` {code(f.name, 60)} PSI {f.psi:.3f}{tail}"


def render_drift(found: EnvironmentDrift) -> Message:
    report = found.report
    env = escape(found.environment)
    ranked: Sequence[FeatureDrift] = sorted(
        [*report.features, *([report.score] if report.score else [])], key=lambda f: -f.psi
    )
    shown, rest = ranked[:SHOWN], ranked[SHOWN:]
    lines = [_line(f) for f in shown]
    if rest:
        lines.append(f"… {len(rest)} more, all below PSI {max(f.psi for f in rest):.3f}")
    source = found.source
    if "capture" in source:
        where = f"traffic captured in the last {escape(str(source.get('since', '')))}"
        if source.get("malformed"):
            where += f" ({source['malformed']} malformed lines skipped)"
    else:
        where = "the rows given"
    window = f", {escape(report.window[0])} to {escape(report.window[1])}" if report.window else ""
    skipped = f", {report.skipped} encoded rows not checkable" if report.skipped else ""
    blocks: list[Block] = [
        header(f"Drift · {found.environment} v{found.version}"),
        section(
            f"{STATUS_EMOJI[report.status]} *{report.status}* — {report.rows:,} rows from {where}"
            f"{window}{skipped}, against v{found.version}'s training baseline."
        ),
        section("\n".join(lines)),
        context(
            "PSI = Σ (a − e) · ln(a / e) over the baseline's bins: below 0.1 ok, 0.1–0.25 warn, above drift."
        ),
    ]
    worst = shown[0] if shown else None
    summary = f"Drift in {env} v{found.version}: {report.status}"
    if worst is not None:
        summary += f" (highest PSI {worst.psi:.3f}, {escape(worst.name)})"
    return fallback(summary), to_dicts(blocks)


def render_drift_unavailable(why: str) -> Message:
    text = f":information_source: {escape(why)}"
    return fallback(text), to_dicts([section(text)])


def baseline_summary(baseline: Mapping[str, Any] | None) -> str:
    """One line on a version's drift baseline, for ``/mlops status vN``."""
    if baseline is None:
        return ":information_source: No drift baseline: this version's training run wrote none."
    features = baseline.get("features") or {}
    kinds = [f.get("kind") for f in features.values() if isinstance(f, Mapping)]
    numeric, categorical = kinds.count("numeric"), kinds.count("categorical")
    line = (
        f":bar_chart: Drift baseline: {len(kinds)} features of {int(baseline.get('rows') or 0):,} training "
        f"rows ({numeric} numeric in decile bins, {categorical} categorical)"
    )
    score = baseline.get("score")
    if isinstance(score, Mapping):
        bins = len(score.get("proportions") or [])
        line += f", scores of {int(score.get('rows') or 0):,} test rows in {bins} bins"
    missing = [
        (float(f.get("missing_rate") or 0), name) for name, f in features.items() if isinstance(f, Mapping)
    ]
    worst = max(missing, default=(0.0, ""))
    if worst[0] > 0:
        line += f"; most often missing: {code(worst[1], 60)} {worst[0]:.1%}"
    return line + "."
