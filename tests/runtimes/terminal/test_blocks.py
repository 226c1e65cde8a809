"""Block Kit as rich renderables: card layout, colors only on a terminal, button numbering."""

from __future__ import annotations

from runtimes.terminal import BlockRenderer, buttons_of
from tests.runtimes.terminal.cards import card, colored, plain


def test_block_renderer_lays_out_a_card() -> None:
    lines = plain(BlockRenderer({"UALICE": "alice"}, width=100).render(card(2))).splitlines()
    # a card is a panel titled by its header
    assert lines[0].startswith("╭─ Model v2 · mlops-xgboost ─")
    body = [line.strip("│ ") for line in lines[1:-1]]
    # fields two per row, the second column aligned
    assert body[0].startswith("Accuracy") and body[0].endswith("F1")
    assert lines[2].index("0.872") == lines[1].index("Accuracy")
    assert lines[2].index("0.712") == lines[1].index("F1")
    assert body[2] == "AUC"
    assert "Trained by @alice" in body
    assert body[-1] == "[1 Approve v2] [2 Reject…]"


def test_narrow_terminals_stack_fields() -> None:
    lines = [
        line.strip("│ ") for line in plain(BlockRenderer(width=50).render(card(1)), width=50).splitlines()
    ]
    assert lines[1:7] == ["Accuracy", "0.872 (+0.004 vs v1)", "F1", "0.712", "AUC", "0.928"]


def test_colors_only_on_a_terminal() -> None:
    renderer = BlockRenderer()
    assert "\x1b[" not in plain(renderer.render(card(1)))
    painted = colored(renderer.render(card(1)))
    assert "\x1b[1m" in painted  # header and field names bold
    assert "\x1b[2m" in painted  # context dim
    assert "\x1b[1;32m[1 Approve v1]" in painted  # primary button green, danger red
    assert "\x1b[1;31m[2 Reject…]" in painted


def test_a_message_without_blocks_shows_its_text() -> None:
    assert plain(BlockRenderer({"UBOB": "bob"}).render([], "*Approved* v1 — <@UBOB>")) == "Approved v1 — @bob"


def test_buttons_are_numbered_in_display_order() -> None:
    blocks = card(3, promotable=True)
    assert [(b.number, b.label, b.action_id) for b in buttons_of(blocks)] == [
        (1, "Approve v3", "release_approve"),
        (2, "Reject…", "release_reject"),
        (3, "Promote to production", "release_promote"),
    ]
