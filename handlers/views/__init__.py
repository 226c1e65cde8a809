"""Modals: the reject-reason modal (``reject``), opened by the Reject button."""

from __future__ import annotations

from slack_bolt import App

from . import reject


def register(app: App) -> None:
    reject.register(app)
