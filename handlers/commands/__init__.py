"""Slash commands."""

from __future__ import annotations

from slack_bolt import App

from bot.services import Services

from . import mlops


def register(app: App, services: Services) -> None:
    mlops.register(app, services)
