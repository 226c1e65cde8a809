"""Buttons, one module each: on release cards (``approve``, ``promote``, ``reject``, ``rollback``) and on
rollback confirmations (``rollback_confirm``, ``rollback_cancel``); ``button`` holds what they share.
"""

from __future__ import annotations

from slack_bolt import App

from . import approve, promote, reject, rollback, rollback_cancel, rollback_confirm


def register(app: App) -> None:
    approve.register(app)
    promote.register(app)
    reject.register(app)
    rollback.register(app)
    rollback_confirm.register(app)
    rollback_cancel.register(app)
