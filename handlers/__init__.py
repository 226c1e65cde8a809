"""Slack listeners: slash commands, buttons, modals and release notifications.

Registered by ``runtimes.assembly.create_app``.
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
