"""``mlops-bot card vN``: the version's model card as Markdown (default) or JSON."""

from __future__ import annotations

import json
from collections.abc import Callable

from bot.services import Services
from handlers.commands.ops import model_card
from handlers.render.model_card import card_markdown


def card_command(services: Services, version: int, as_json: bool, out: Callable[[str], None]) -> int:
    doc = model_card(services, version)
    out(json.dumps(doc, indent=2, ensure_ascii=False) if as_json else card_markdown(doc).rstrip("\n"))
    return 0
