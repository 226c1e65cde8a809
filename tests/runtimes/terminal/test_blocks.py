"""Block Kit as terminal lines: card layout, colors, button numbering."""

from __future__ import annotations

from runtimes.terminal import BlockRenderer, Style, buttons_of
from tests.runtimes.terminal.cards import card

PLAIN = Style(False)


def test_block_renderer_lays_out_a_card() -> None:
    lines = BlockRenderer(PLAIN, {"UALICE": "alice"}, width=100).render(card(2))
    assert lines[0] == "Model v2 · mlops-xgboost"
    # fields two per row, left column padded to a common width
    assert lines[1].startswith("Accuracy") and lines[1].rstrip().endswith("F1")
    assert lines[2].index("0.712") == lines[1].index("F1")
    assert lines[3] == "AUC"
    assert "Trained by @alice" in lines
    assert lines[-1] == "[1 Approve v2] [2 Reject…]"


def test_colors_only_when_asked() -> None:
    plain = "\n".join(BlockRenderer(PLAIN).render(card(1)))
    colored = "\n".join(BlockRenderer(Style(True)).render(card(1)))
    assert "\x1b[" not in plain
    assert "\x1b[1m" in colored  # header bold
    assert "\x1b[2m" in colored  # context dim


def test_buttons_are_numbered_in_display_order() -> None:
    blocks = card(3, promotable=True)
    assert [(b.number, b.label, b.action_id) for b in buttons_of(blocks)] == [
        (1, "Approve v3", "release_approve"),
        (2, "Reject…", "release_reject"),
        (3, "Promote to production", "release_promote"),
    ]
