"""The drift chart: which features and bins it draws, bar heights true to the proportions, a real PNG."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
from PIL import Image

from ml.drift.chart import (
    BASELINE,
    CURRENT,
    MAX_BINS,
    MAX_PANELS,
    PANEL_HEIGHT,
    TOP,
    WIDTH,
    alt_text,
    drift_chart_png,
    layout,
)
from ml.drift.check import DriftReport, FeatureDrift, check
from tests.ml.drift.conftest import shifted


def _drifted(adult_baseline: dict[str, Any], adult_test: pd.DataFrame) -> DriftReport:
    return check(adult_baseline, shifted(adult_test))


def test_the_panels_are_the_features_with_the_highest_psi(
    adult_baseline: dict[str, Any], adult_test: pd.DataFrame
) -> None:
    report = _drifted(adult_baseline, adult_test)
    panels = layout(report)
    assert len(panels) == MAX_PANELS
    assert {p.feature for p in panels[:2]} == {"age", "hours-per-week"}  # the two shifted ones lead
    psi = {f.name: f.psi for f in report.features}
    assert psi[panels[0].feature] >= psi[panels[1].feature] >= psi[panels[2].feature]
    assert panels[0].title.startswith(f"{panels[0].feature} (numeric) · PSI ")
    assert panels[0].title.endswith("· drift")


def test_bar_heights_are_the_proportions_on_one_scale_per_panel(
    adult_baseline: dict[str, Any], adult_test: pd.DataFrame
) -> None:
    for panel in layout(_drifted(adult_baseline, adult_test)):
        x0, y0, x1, y1 = panel.plot
        assert panel.top_proportion == max(b.proportion for b in panel.bars)
        for bar in panel.bars:
            bx0, by0, bx1, by1 = bar.box
            assert x0 <= bx0 <= bx1 <= x1 and by1 == y1  # inside the plot, standing on its axis
            assert abs((by1 - by0) - (y1 - y0) * bar.proportion / panel.top_proportion) <= 0.5
        baseline = [b for b in panel.bars if b.kind == "baseline"]
        current = [b for b in panel.bars if b.kind == "current"]
        assert [b.label for b in baseline] == [b.label for b in current]  # one pair per bin
        assert all(c.box[0] == b.box[2] + 1 for b, c in zip(baseline, current, strict=True))


def test_a_long_category_list_keeps_the_bins_that_moved_most_in_their_order() -> None:
    bins = tuple((f"c{i:02d}", 1 / 20, 1 / 20 + (0.01 * i if i % 2 else -0.002 * i)) for i in range(20))
    feature = FeatureDrift("workclass", "categorical", 0.3, "drift", 0.0, 0.0, 0.0, bins, 100)
    report = DriftReport([feature], None, 100, 0, None, "drift")
    (panel,) = layout(report)
    labels = [b.label for b in panel.bars if b.kind == "baseline"]
    moved = sorted(bins, key=lambda b: -abs(b[2] - b[1]))[:MAX_BINS]
    assert labels == sorted(b[0] for b in moved)  # the most moved, in the feature's own order
    assert panel.hidden_bins == 20 - MAX_BINS


def test_the_png_is_a_real_image_with_both_colours_and_the_same_bytes_each_time(
    adult_baseline: dict[str, Any], adult_test: pd.DataFrame
) -> None:
    report = _drifted(adult_baseline, adult_test)
    png = drift_chart_png(report, "Drift · production v1")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size == (WIDTH, TOP + PANEL_HEIGHT * MAX_PANELS)
    colours = {c for _, c in image.convert("RGB").getcolors(maxcolors=1 << 16) or []}
    assert BASELINE in colours and CURRENT["drift"] in colours
    assert drift_chart_png(report, "Drift · production v1") == png


def test_the_alt_text_names_each_charted_feature_within_slacks_limit(
    adult_baseline: dict[str, Any], adult_test: pd.DataFrame
) -> None:
    report = _drifted(adult_baseline, adult_test)
    text = alt_text(report)
    assert len(text) <= 1000
    for panel in layout(report):
        assert f"{panel.feature}: PSI " in text
