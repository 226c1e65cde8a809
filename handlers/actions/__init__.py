"""Button clicks."""

from __future__ import annotations

from slack_bolt import App

from bot.services import Services

from . import release


def register(app: App, services: Services) -> None:
    release.register(app, services)
