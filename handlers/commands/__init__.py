"""Slash commands: ``/mlops`` (``mlops``), its grammar (``parse``, ``grammar``, ``usage``) and what
it runs (``ops``).
"""

from __future__ import annotations

from slack_bolt import App

from . import mlops


def register(app: App) -> None:
    mlops.register(app)
