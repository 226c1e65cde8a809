"""The scheduled drift check: production's captured traffic against its model's baseline, on a timer.

On a warning or drift it keeps **one drift card** per environment in the channel, updated in place
while the drift lasts, with a Roll back button (the usual confirmation follows); once the traffic is
back within the thresholds the card says so. A check that cannot run (nothing served, no baseline,
no traffic) changes nothing. The timer waits on an event, so closing stops it at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, PlainTextObject

from bot.core.service import RollbackPlan
from bot.notify import Notifier
from bot.services import Services
from handlers.ids import ACTION_ROLLBACK
from handlers.render.common import encode_value, section, to_dicts
from handlers.render.drift import render_drift
from ml.drift.environment import DriftUnavailable, EnvironmentDrift, check_environment
from ml.platform import Environment

log = logging.getLogger(__name__)

__all__ = ["WINDOW", "DriftWatch", "card_key", "start_drift_watch"]

#: how much captured traffic each scheduled check reads (a day: enough rows for stable bins)
WINDOW = timedelta(hours=24)


def card_key(environment: Environment) -> str:
    return f"drift:{environment}"


class DriftWatch:
    """Runs the drift check of ``environments`` every ``interval``; :meth:`check_now` runs one round."""

    def __init__(
        self,
        services: Services,
        notifier: Notifier,
        interval: timedelta,
        environments: Sequence[Environment] = ("production",),
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.services = services
        self.notifier = notifier
        self.interval = interval
        self.environments = tuple(environments)
        self.now = now
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check_now(self) -> dict[Environment, str]:
        """One round: the status each environment's check found ("unavailable" when it could not run)."""
        found: dict[Environment, str] = {}
        for env in self.environments:
            try:
                result = check_environment(self.services.platform, env, WINDOW, self.now())
            except DriftUnavailable as exc:
                log.debug("scheduled drift check of %s skipped: %s", env, exc)
                found[env] = "unavailable"
                continue
            found[env] = result.report.status
            self._announce(result)
        return found

    def _announce(self, found: EnvironmentDrift) -> None:
        key = card_key(found.environment)
        status = found.report.status
        if status == "ok" and self.notifier.ref(key) is None:
            return  # nothing drifted and no card to settle
        text, blocks = render_drift(found)
        if status == "ok":
            note = ":white_check_mark: Back within the thresholds at the last scheduled check."
            blocks = [*blocks, *to_dicts([section(note)])]
        elif (button := self._rollback_button(found)) is not None:
            blocks = [*blocks, button]
        self.notifier.upsert(key, text, blocks)

    def _rollback_button(self, found: EnvironmentDrift) -> dict[str, Any] | None:
        """Roll back to the version before, when there is one (oncall and releasers; it asks first)."""
        if found.environment != "production":
            return None
        plan = self.services.release.rollback_plan("production")
        if not isinstance(plan, RollbackPlan) or plan.from_version != found.version:
            return None
        button = ButtonElement(
            text=PlainTextObject(text=f"Roll back production to v{plan.to_version}…"),
            action_id=ACTION_ROLLBACK,
            value=encode_value({"v": found.version}),
            style="danger",
        )
        block: dict[str, Any] = ActionsBlock(
            block_id=f"drift-{found.environment}", elements=[button]
        ).to_dict()
        return block

    # -- the timer ------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="drift-watch", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval.total_seconds()):
            try:
                self.check_now()
            except Exception:  # the next round tries again; a failing check must not end the timer
                log.exception("scheduled drift check failed")

    def close(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def start_drift_watch(services: Services, notifier: Notifier | None) -> DriftWatch | None:
    """The scheduled check as ``MLOPS_DRIFT_SCHEDULE`` sets it, started; None when off or mute."""
    interval = services.settings.drift_interval
    if interval is None or notifier is None:
        return None
    watch = DriftWatch(services, notifier, interval)
    watch.start()
    return watch
