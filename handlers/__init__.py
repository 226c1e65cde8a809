"""Slack listeners: slash commands, buttons, modals and release notifications.

Loaded by ``bot.app.create_app`` through the ``mlops_bot.listeners`` entry point.
"""

from __future__ import annotations

from slack_bolt import App

from bot.services import Services

__all__ = ["register"]


def register(app: App, services: Services) -> None:
    from . import actions, commands, notifications, views

    commands.register(app, services)
    actions.register(app, services)
    views.register(app, services)
    notifications.register(app, services)
