"""The scheduled drift check: production's captured traffic against its model's baseline, on a timer.

On a warning or drift it keeps **one drift card** per environment in the channel, updated in place
(its chart of baseline against current proportions uploaded into its thread: ``drift_chart``)
while the drift lasts, with Roll back (the usual confirmation follows), Retrain and Acknowledge
buttons; an acknowledged card is left alone until the mute ends; once the traffic is back within the
thresholds the card says so. A check that cannot run (nothing served, no baseline,
no traffic) changes nothing. The timer waits on an event, so closing stops it at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, PlainTextObject

from bot.core.service import RollbackPlan
from bot.notify import Notifier
from bot.services import Services
from handlers.drift_chart import ChartUploads
from handlers.ids import ACTION_DRIFT_ACKNOWLEDGE, ACTION_DRIFT_RETRAIN, ACTION_ROLLBACK
from handlers.render.common import encode_value, section, to_dicts
from handlers.render.drift import drift_card_key, render_drift
from handlers.repeating import Repeating
from handlers.thread_files import FileUploader
from ml.drift.environment import DriftUnavailable, EnvironmentDrift, check_environment
from ml.platform import Environment

log = logging.getLogger(__name__)

__all__ = ["WINDOW", "DriftWatch", "start_drift_watch"]

#: how much captured traffic each scheduled check reads (a day: enough rows for stable bins)
WINDOW = timedelta(hours=24)


def _button(text: str, action_id: str, value: dict[str, Any], style: str | None = None) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=text), action_id=action_id, value=encode_value(value), style=style
    )


class DriftWatch(Repeating):
    """Runs the drift check of ``environments`` every ``interval``; :meth:`check_now` runs one round."""

    def __init__(
        self,
        services: Services,
        notifier: Notifier,
        interval: timedelta,
        environments: Sequence[Environment] = ("production",),
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        files: FileUploader | None = None,
        publish: Callable[[EnvironmentDrift], None] | None = None,
    ) -> None:
        """``files`` uploads the chart (default: the notifier's client, when it can); ``publish``
        receives each check that ran (its PSI to a metrics store); None: nowhere."""
        super().__init__(interval, "drift-watch")
        self.services = services
        self.notifier = notifier
        self.environments = tuple(environments)
        self.now = now
        self.publish = publish
        # the chart goes up with Slack's own client; a client that cannot upload gets the card alone
        uploader = files if files is not None else notifier.client
        self.charts = (
            ChartUploads(services.store, notifier, uploader) if isinstance(uploader, FileUploader) else None
        )

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
            if self.publish is not None:
                self.publish(result)
        return found

    def _announce(self, found: EnvironmentDrift) -> None:
        key = drift_card_key(found.environment)
        status = found.report.status
        if status == "ok" and self.notifier.ref(key) is None:
            return  # nothing drifted and no card to settle
        if status != "ok" and self.services.release.drift_muted(found.environment) is not None:
            return  # acknowledged: the card stays as it was until the mute ends
        text, blocks = render_drift(found)
        if status == "ok":
            note = ":white_check_mark: Back within the thresholds at the last scheduled check."
            blocks = [*blocks, *to_dicts([section(note)])]
        else:
            blocks = [*blocks, self._buttons(found)]
        self.notifier.upsert(key, text, blocks)
        if self.charts is not None:
            if status == "ok":
                self.charts.settle(found.environment)
            else:
                self.charts.post(found, key, self.now())

    def _buttons(self, found: EnvironmentDrift) -> dict[str, Any]:
        """Roll back (when there is a version to go back to), Retrain, Acknowledge; roles are checked
        at the click."""
        env = found.environment
        elements: list[ButtonElement] = []
        plan = self.services.release.rollback_plan(env) if env == "production" else None
        if isinstance(plan, RollbackPlan) and plan.from_version == found.version:
            label = f"Roll back production to v{plan.to_version}…"  # asks first, as on a release card
            elements.append(_button(label, ACTION_ROLLBACK, {"v": found.version}, "danger"))
        elements.append(_button("Retrain with current data", ACTION_DRIFT_RETRAIN, {"env": env}))
        elements.append(_button("Acknowledge for 4h", ACTION_DRIFT_ACKNOWLEDGE, {"env": env}))
        block: dict[str, Any] = ActionsBlock(block_id=f"drift-{env}", elements=elements).to_dict()
        return block

    def round(self) -> object:
        return self.check_now()


def start_drift_watch(
    services: Services,
    notifier: Notifier | None,
    publish: Callable[[EnvironmentDrift], None] | None = None,
) -> DriftWatch | None:
    """The scheduled check as ``MLOPS_DRIFT_SCHEDULE`` sets it, started; None when off or mute."""
    interval = services.settings.drift_interval
    if interval is None or notifier is None:
        return None
    watch = DriftWatch(services, notifier, interval, publish=publish)
    watch.start()
    return watch
