"""The confusion matrix chart: its geometry as data, and a real PNG."""

from __future__ import annotations

import io

from PIL import Image

from ml.evidence.chart import CELL, HEIGHT, RIGHT, WIDTH, WRONG, alt_text, confusion_png, layout
from ml.evidence.report import Confusion

MATRIX = Confusion(tn=3484, fp=225, fn=402, tp=774)


def test_the_four_cells_sit_in_a_two_by_two_grid_with_their_counts_and_shares() -> None:
    cells = layout(MATRIX)
    assert [(c.actual, c.predicted, c.count) for c in cells] == [
        (0, 0, 3484),
        (0, 1, 225),
        (1, 0, 402),
        (1, 1, 774),
    ]
    tn, fp, fn, tp = cells
    assert tn.box[2] + 1 == fp.box[0] and tn.box[3] + 1 == fn.box[1]  # side by side, one under the other
    assert all(c.box[2] - c.box[0] + 1 == CELL and c.box[3] < HEIGHT and c.box[2] < WIDTH for c in cells)
    assert sum(c.share for c in cells) == 1.0
    assert [c.correct for c in cells] == [True, False, False, True]
    # the biggest share is the deepest colour; right answers are green, wrong ones red
    assert tn.fill[1] < tp.fill[1] and tn.fill[1] > RIGHT[1]
    assert fp.fill[0] > fp.fill[1] and fn.fill[0] > WRONG[0]


def test_an_empty_matrix_still_lays_out() -> None:
    cells = layout(Confusion(0, 0, 0, 0))
    assert [c.share for c in cells] == [0.0] * 4


def test_the_png_is_a_real_image_of_the_expected_size_and_stable() -> None:
    png = confusion_png(MATRIX, "mlops-xgboost v3 · 4,885 test rows")
    image = Image.open(io.BytesIO(png))
    assert (image.format, image.size) == ("PNG", (WIDTH, HEIGHT))
    x0, y0, _, _ = layout(MATRIX)[0].box
    assert image.convert("RGB").getpixel((x0 + 80, y0 + 90)) == layout(MATRIX)[0].fill  # the cell is painted
    assert confusion_png(MATRIX, "mlops-xgboost v3 · 4,885 test rows") == png
    assert alt_text(MATRIX) == (
        "Confusion matrix of 4,885 test rows: 3,484 true negatives, 225 false positives, "
        "402 false negatives, 774 true positives."
    )
