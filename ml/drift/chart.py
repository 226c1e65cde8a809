"""The drift card's chart: baseline against current proportions per bin, for the features that moved most.

A PNG drawn with Pillow. The geometry (:func:`layout`) is plain data, so that what the picture shows can
be checked without reading pixels; :func:`drift_chart_png` only paints it. Same report, same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from ml.drift.check import DriftReport, FeatureDrift

__all__ = [
    "MAX_BINS",
    "MAX_PANELS",
    "Bar",
    "Panel",
    "alt_text",
    "chart_features",
    "drift_chart_png",
    "layout",
]

WIDTH = 760
PANEL_HEIGHT = 190
TOP = 34  # the legend's band
PLOT_LEFT, PLOT_RIGHT = 46, 14
PLOT_TOP, PLOT_BOTTOM = 26, 40  # a panel's title above the plot, bin labels below it
#: panels drawn: the features with the highest PSI
MAX_PANELS = 3
#: bins drawn per feature: the ones that moved most, in their own order (a category list can be long)
MAX_BINS = 12

BACKGROUND = (255, 255, 255)
INK = (29, 28, 29)
GRID = (221, 221, 221)
BASELINE = (154, 160, 166)
CURRENT = {"ok": (46, 125, 50), "warn": (237, 108, 2), "drift": (198, 40, 40)}


BarKind = Literal["baseline", "current"]


@dataclass(frozen=True)
class Bar:
    """One bar: ``kind`` is the baseline's or the current traffic's proportion of one bin."""

    kind: BarKind
    label: str
    proportion: float
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, y growing downwards


@dataclass(frozen=True)
class Panel:
    feature: str
    title: str
    status: str
    plot: tuple[int, int, int, int]
    top_proportion: float  # the proportion a bar reaching the plot's top stands for
    bars: tuple[Bar, ...]
    hidden_bins: int  # bins left out (those that moved least)


def chart_features(report: DriftReport) -> list[FeatureDrift]:
    """The features the chart draws: highest PSI first, at most :data:`MAX_PANELS`."""
    parts = [*report.features, *([report.score] if report.score else [])]
    return sorted(parts, key=lambda f: -f.psi)[:MAX_PANELS]


def _bins(feature: FeatureDrift) -> list[tuple[str, float, float]]:
    if len(feature.bins) <= MAX_BINS:
        return list(feature.bins)
    moved = sorted(range(len(feature.bins)), key=lambda i: -abs(feature.bins[i][2] - feature.bins[i][1]))
    kept = sorted(moved[:MAX_BINS])
    return [feature.bins[i] for i in kept]


def _panel(feature: FeatureDrift, top: int) -> Panel:
    bins = _bins(feature)
    x0, y0 = PLOT_LEFT, top + PLOT_TOP
    x1, y1 = WIDTH - PLOT_RIGHT, top + PANEL_HEIGHT - PLOT_BOTTOM
    highest = max((max(e, a) for _, e, a in bins), default=0.0)
    scale = highest if highest > 0 else 1.0
    slot = (x1 - x0) / max(1, len(bins))
    bar_width = max(2, int(slot * 0.36))
    bars: list[Bar] = []
    for i, (label, expected, actual) in enumerate(bins):
        left = int(x0 + i * slot + slot / 2) - bar_width
        pair: tuple[tuple[BarKind, float, int], ...] = (
            ("baseline", expected, left),
            ("current", actual, left + bar_width),
        )
        for kind, value, at in pair:
            height = round((y1 - y0) * value / scale)
            bars.append(Bar(kind, label, value, (at, y1 - height, at + bar_width - 1, y1)))
    named = "model score" if feature.kind == "score" else feature.kind
    title = f"{feature.name} ({named}) · PSI {feature.psi:.3f} · {feature.status}"
    hidden = len(feature.bins) - len(bins)
    return Panel(feature.name, title, feature.status, (x0, y0, x1, y1), scale, tuple(bars), hidden)


def layout(report: DriftReport) -> list[Panel]:
    """Where every bar goes: one panel per charted feature, stacked below the legend."""
    return [_panel(f, TOP + i * PANEL_HEIGHT) for i, f in enumerate(chart_features(report))]


def _short(label: str, width: int) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def drift_chart_png(report: DriftReport, heading: str) -> bytes:
    """The chart as PNG bytes: a legend with ``heading``, then one panel per charted feature."""
    from PIL import Image, ImageDraw, ImageFont  # only the scheduled check draws

    panels = layout(report)
    height = TOP + PANEL_HEIGHT * max(1, len(panels))
    image = Image.new("RGB", (WIDTH, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=13)
    small = ImageFont.load_default(size=10)
    draw.text((PLOT_LEFT, 10), heading, fill=INK, font=font)
    legend_x = WIDTH - 250
    draw.rectangle((legend_x, 12, legend_x + 10, 22), fill=BASELINE)
    draw.text((legend_x + 14, 10), "training baseline", fill=INK, font=small)
    draw.rectangle((legend_x + 120, 12, legend_x + 130, 22), fill=CURRENT["drift"])
    draw.text((legend_x + 134, 10), "current traffic", fill=INK, font=small)
    for panel in panels:
        x0, y0, x1, y1 = panel.plot
        draw.text((x0, y0 - PLOT_TOP + 6), panel.title, fill=INK, font=font)
        for fraction in (0.5, 1.0):
            y = round(y1 - (y1 - y0) * fraction)
            draw.line((x0, y, x1, y), fill=GRID)
            draw.text((4, y - 6), f"{panel.top_proportion * fraction:.0%}", fill=INK, font=small)
        draw.line((x0, y1, x1, y1), fill=INK)
        current = CURRENT.get(panel.status, CURRENT["drift"])
        label_chars = max(4, int((x1 - x0) / max(1, len(panel.bars) // 2) / 6))  # about 6 px a character
        for bar in panel.bars:
            if bar.box[3] > bar.box[1]:
                draw.rectangle(bar.box, fill=BASELINE if bar.kind == "baseline" else current)
            if bar.kind == "baseline":
                draw.text((bar.box[0], y1 + 4), _short(bar.label, label_chars), fill=INK, font=small)
        if panel.hidden_bins:
            note = f"{panel.hidden_bins} bins that moved least not shown"
            draw.text((x0, y1 + 22), note, fill=INK, font=small)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def alt_text(report: DriftReport, charted: Sequence[FeatureDrift] | None = None) -> str:
    """The chart in words, for screen readers (Slack allows 1,000 characters)."""
    parts = [f"{f.name}: PSI {f.psi:.3f} ({f.status})" for f in (charted or chart_features(report))]
    return ("Baseline against current proportions per bin. " + "; ".join(parts))[:1000]
