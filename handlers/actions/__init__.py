"""Buttons, one module each: on release cards (``approve``, ``promote``, ``reject``, ``rollback``) and on
confirmations (``promote_confirm``, ``rollback_confirm``, and ``cancel`` for both); on the drift card
(``drift``: Acknowledge, Retrain); on an expired card (``request_approval``: Request again); on the live
rollout message (``rollout``: Stop and roll back, Finish now); ``button`` holds what they share.
"""

from __future__ import annotations

from slack_bolt import App

from . import (
    approve,
    cancel,
    drift,
    promote,
    promote_confirm,
    reject,
    request_approval,
    rollback,
    rollback_confirm,
    rollout,
)


def register(app: App) -> None:
    approve.register(app)
    promote.register(app)
    reject.register(app)
    rollback.register(app)
    rollback_confirm.register(app)
    promote_confirm.register(app)
    cancel.register(app)
    drift.register(app)
    request_approval.register(app)
    rollout.register(app)
