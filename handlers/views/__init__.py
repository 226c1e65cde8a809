"""Modals: the approval comment (``approve``) and the rejection reason (``reject``), opened by the
card's buttons; ``form`` holds what they share."""

from __future__ import annotations

from slack_bolt import App

from . import approve, reject


def register(app: App) -> None:
    approve.register(app)
    reject.register(app)
