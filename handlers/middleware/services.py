"""Giving every request the app's ``Services``, so that listeners are plain module-level functions."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

from bot.services import Services
from handlers.context import SERVICES


class ProvideServices(Middleware):
    """Puts ``services`` into ``context["services"]`` (read with ``handlers.context.services_of``).

    Installed first: the other middleware and every listener, lazy ones included, read it. On Lambda
    a lazy listener's re-invocation passes through here again.
    """

    def __init__(self, services: Services) -> None:
        self.services = services

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        req.context[SERVICES] = self.services
        return next()
