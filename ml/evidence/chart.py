"""The confusion matrix as a small PNG for the release card's thread.

Drawn with Pillow, as ``ml.drift.chart`` draws the drift chart. The geometry (:func:`layout`) is plain
data, so what the picture shows can be checked without reading pixels; :func:`confusion_png` only paints
it. Same counts, same bytes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from ml.evidence.report import Confusion

__all__ = ["Cell", "alt_text", "confusion_png", "layout"]

WIDTH, HEIGHT = 360, 300
GRID_LEFT, GRID_TOP = 110, 70
CELL = 110
BACKGROUND = (255, 255, 255)
INK = (29, 28, 29)
LIGHT_INK = (255, 255, 255)
#: right answers green, wrong ones red; a cell's share of the rows sets how deep its colour is
RIGHT = (46, 125, 50)
WRONG = (198, 40, 40)
LABELS = ("negative", "positive")


@dataclass(frozen=True)
class Cell:
    actual: int  # 0 negative, 1 positive
    predicted: int
    count: int
    share: float  # of every test row
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, y growing downwards
    fill: tuple[int, int, int]
    correct: bool


def _tint(colour: tuple[int, int, int], share: float) -> tuple[int, int, int]:
    """From white (no rows) to the full colour (every row), never paler than 15 %."""
    depth = 0.15 + 0.85 * max(0.0, min(1.0, share))
    r, g, b = colour
    return (round(255 - (255 - r) * depth), round(255 - (255 - g) * depth), round(255 - (255 - b) * depth))


def layout(matrix: Confusion) -> list[Cell]:
    """The four cells, row by row: actual negative (TN, FP), then actual positive (FN, TP)."""
    total = matrix.total or 1
    counts = ((matrix.tn, matrix.fp), (matrix.fn, matrix.tp))
    cells: list[Cell] = []
    for actual in (0, 1):
        for predicted in (0, 1):
            count = counts[actual][predicted]
            share = count / total
            x0 = GRID_LEFT + predicted * CELL
            y0 = GRID_TOP + actual * CELL
            correct = actual == predicted
            fill = _tint(RIGHT if correct else WRONG, share)
            cells.append(
                Cell(actual, predicted, count, share, (x0, y0, x0 + CELL - 1, y0 + CELL - 1), fill, correct)
            )
    return cells


def confusion_png(matrix: Confusion, heading: str) -> bytes:
    """The matrix as PNG bytes, under ``heading``."""
    from PIL import Image, ImageDraw, ImageFont  # only a card with an evaluation report draws

    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=13)
    small = ImageFont.load_default(size=11)
    draw.text((10, 8), heading, fill=INK, font=font)
    draw.text((GRID_LEFT, GRID_TOP - 36), "predicted", fill=INK, font=small)
    for i, label in enumerate(LABELS):
        draw.text((GRID_LEFT + i * CELL + 8, GRID_TOP - 18), label, fill=INK, font=small)
        draw.text((10, GRID_TOP + i * CELL + CELL // 2 - 6), f"actual {label}", fill=INK, font=small)
    for cell in layout(matrix):
        draw.rectangle(cell.box, fill=cell.fill, outline=INK)
        ink = LIGHT_INK if cell.share > 0.45 else INK
        x0, y0 = cell.box[0], cell.box[1]
        draw.text((x0 + 10, y0 + CELL // 2 - 16), f"{cell.count:,}", fill=ink, font=font)
        draw.text((x0 + 10, y0 + CELL // 2 + 4), f"{cell.share:.1%}", fill=ink, font=small)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def alt_text(matrix: Confusion) -> str:
    """The matrix in words, for screen readers."""
    return (
        f"Confusion matrix of {matrix.total:,} test rows: {matrix.tn:,} true negatives, "
        f"{matrix.fp:,} false positives, {matrix.fn:,} false negatives, {matrix.tp:,} true positives."
    )
