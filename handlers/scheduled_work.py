"""The ticker of scheduled work: approval reminders and expiries, kept in the store by the release core,
and the retirement of warm standbys whose retention ended (audited and told on the production card).

``run_due`` does one round: each item due is claimed in the store first, so however many tickers run
(a timer in ``serve`` and ``shell``, the scheduled Lambda invocation on AWS) each is done once. A
reminder is a reply in the version's card thread mentioning the approver groups (Slack user-group
mentions, ids read the way the role directory reads them: ``usergroups.list``); an expiry is a result
of the core, so the card and its thread follow as for any other change. The timer waits on an event,
so closing stops it at once.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.core.expiry import Reminder, TickReport
from bot.core.models import Role
from bot.notify import Notifier
from bot.services import Services
from handlers.render.approval_expiry import group_mentions, render_reminder
from handlers.render.release_card import card_key
from handlers.repeating import Repeating

log = logging.getLogger(__name__)

__all__ = ["TICK", "ScheduledWork", "start_scheduled_work"]

#: how often the timer looks for due work
TICK = timedelta(seconds=30)


class ScheduledWork(Repeating):
    """Runs due scheduled work every ``interval``; :meth:`run_due` runs one round."""

    def __init__(
        self, services: Services, notifier: Notifier, interval: timedelta = TICK, groups: Any = None
    ) -> None:
        """``groups`` reads user groups (``usergroups_list``); default: the notifier's client."""
        super().__init__(interval, "scheduled-work")
        self.services = services
        self.notifier = notifier
        self.groups = groups if groups is not None else notifier.client

    def run_due(self) -> TickReport:
        return self.services.release.run_scheduled_work(self.remind)

    def remind(self, reminder: Reminder) -> None:
        text, blocks = render_reminder(reminder, self.approver_mentions())
        self.notifier.reply(card_key(reminder.version), text, blocks)

    def approver_mentions(self) -> str:
        """The approver groups as mentions; a group Slack cannot name is written as ``@handle``."""
        handles = self.services.settings.mlops_roles.get(Role.APPROVER, [])
        ids: dict[str, str] = {}
        lister = getattr(self.groups, "usergroups_list", None)
        if handles and callable(lister):
            try:
                for group in lister(include_disabled=False).get("usergroups", []) or []:
                    if group.get("handle") in handles and not group.get("date_delete"):
                        ids[str(group["handle"])] = str(group["id"])
            except (SlackApiError, SlackClientError, OSError) as exc:  # the reminder goes out all the same
                log.warning("approver groups not read for a reminder (%s): named without a mention", exc)
        return group_mentions(handles, ids)

    def round(self) -> object:
        return self.run_due()


def start_scheduled_work(services: Services, notifier: Notifier | None) -> ScheduledWork | None:
    """The timer, started; None when nothing is ever scheduled (approvals do not expire and no version
    is kept warm after a promote) or mute."""
    settings = services.settings
    if (settings.approval_ttl is None and settings.warm_rollback is None) or notifier is None:
        return None
    work = ScheduledWork(services, notifier)
    work.start()
    return work
