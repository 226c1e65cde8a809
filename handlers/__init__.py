"""Slack listeners, one module each: slash commands (``commands``), buttons (``actions``) and modals
(``views``); middleware and permissions (``middleware``); renderers (``render``); release notifications
(``notifications``); incoming-event routes (``events``).

Listeners are module-level functions; they reach the app's ``Services`` with ``context.services_of``.
``runtimes.assembly.create_app`` installs the middleware and calls ``register``.
"""

from __future__ import annotations

from slack_bolt import App

from . import actions, commands, views

__all__ = ["register"]


def register(app: App) -> None:
    commands.register(app)
    actions.register(app)
    views.register(app)
