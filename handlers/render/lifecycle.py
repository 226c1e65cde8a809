"""Registry lifecycle stages in Slack: the card's line, the status word, an outside change's reply."""

from __future__ import annotations

from bot.core.lifecycle import PendingStage
from bot.slack_text import escape
from ml.platform import LifeCycle, ModelPackage

from .common import truncate

__all__ = ["life_cycle_line", "outside_change_text", "stage_word"]

_EMOJI = {
    "Development": ":construction:",
    "Staging": ":test_tube:",
    "Production": ":rocket:",
    "Archived": ":package:",
}


def stage_word(life: LifeCycle | None) -> str:
    """``Production/Approved``, or ``no stage`` for a version the registry has none for."""
    return f"{escape(life.stage)}/{escape(life.status)}" if life is not None else "no stage"


def life_cycle_line(package: ModelPackage, pending: PendingStage | None = None) -> str:
    """``*Registry stage* :rocket: Production/Approved — Promoted to production by bob via mlops-bot``."""
    life = package.life_cycle
    line = f"*Registry stage* {_EMOJI.get(life.stage, '') + ' ' if life else ''}{stage_word(life)}"
    if life is not None and life.description:
        line += f" — {escape(truncate(life.description, 200))}"
    if pending is not None and not pending.life_cycle.same_stage(life):
        owed = stage_word(pending.life_cycle)
        why = f" ({escape(truncate(pending.error, 200))})" if pending.error else ""
        line += f"\n:warning: not yet set to {owed} in the registry{why}; retried on the next action"
    return line


def outside_change_text(version: int, life: LifeCycle, modified_by: str = "") -> str:
    """The thread reply for a stage set outside mlops-bot."""
    who = f" by {escape(truncate(modified_by, 120))}" if modified_by else ""
    text = f":information_source: v{version}'s registry stage is now *{stage_word(life)}*"
    text += f" (changed outside mlops-bot{who})"
    if life.description:
        text += f": “{escape(truncate(life.description, 300))}”"
    return text + "."
