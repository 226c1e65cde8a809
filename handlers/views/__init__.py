"""Modal submissions."""

from __future__ import annotations

from slack_bolt import App

from bot.services import Services

from . import reject


def register(app: App, services: Services) -> None:
    reject.register(app, services)
