"""``mlops-bot card vN``: the version's model card as Markdown (default) or JSON."""

from __future__ import annotations

import json
from collections.abc import Callable

from bot.core.models import AuditFilter
from bot.services import Services
from handlers.commands.ops import card_state
from handlers.render.model_card import card_document, card_markdown

#: audit entries a model card lists, newest first
CARD_AUDIT_LIMIT = 200


def model_card(services: Services, version: int) -> dict[str, object]:
    """The model card document of ``version`` (raises NotFound for a version the registry lacks)."""
    state = card_state(services, version)
    audit = services.release.audit(CARD_AUDIT_LIMIT, AuditFilter(version=version))
    return card_document(state, audit)


def card_command(services: Services, version: int, as_json: bool, out: Callable[[str], None]) -> int:
    doc = model_card(services, version)
    out(json.dumps(doc, indent=2, ensure_ascii=False) if as_json else card_markdown(doc).rstrip("\n"))
    return 0
