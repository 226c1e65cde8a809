"""Change freezes in the channel: freezes and unfreezes, break-glass switches, and held-up deploys.

A freeze, an unfreeze and a break-glass switch are top-level messages (a break-glass one mentions the
releasers); an approval whose automatic staging deploy a freeze refused says so in the card's thread.
"""

from __future__ import annotations

from bot.core.models import Action, Result, Role
from bot.notify import Notifier
from bot.settings import Settings

from .render.common import fallback, section, to_dicts
from .render.freeze import freeze_notice, frozen_deploy_note, releasers_mention
from .render.release_card import card_key

__all__ = ["post_freeze_notices"]


def post_freeze_notices(notifier: Notifier, settings: Settings, result: Result) -> bool:
    """Post what ``result`` tells the channel about freezes; True when nothing else is to be posted."""
    releasers = releasers_mention(
        settings.mlops_releasers_group_id, list(settings.mlops_roles.get(Role.RELEASER, []))
    )
    if (notice := freeze_notice(result, releasers)) is not None:
        # a key no message has: the notice is posted at the top level of the channel
        notifier.reply(f"freeze:{result.environment}", fallback(notice), to_dicts([section(notice)]))
    if result.action in (Action.FREEZE, Action.UNFREEZE):
        return True
    if (note := frozen_deploy_note(result)) is not None and result.version is not None:
        notifier.reply(card_key(result.version), fallback(note), to_dicts([section(note)]))
        return True
    return False
