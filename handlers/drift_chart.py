"""The drift card's chart, uploaded into the card's thread with ``files_upload_v2``.

One chart per episode and per change in what drifts: the signature (version, status and the drifting
features) is stored once the upload has gone through, so a check that finds the same drift again
uploads nothing, and a failed upload is tried again at the next check. Back within the thresholds, the
record goes, and the next episode charts afresh.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.core.store import Store
from bot.notify import Notifier
from handlers.thread_files import FileUploader, upload_into_thread
from ml.drift.environment import EnvironmentDrift

log = logging.getLogger(__name__)

__all__ = ["NS_DRIFT_CHART", "ChartUploads", "chart_signature"]

NS_DRIFT_CHART = "drift-chart"
#: how long the check waits for the card itself to reach Slack before it gives up until the next round
CARD_WAIT_SECONDS = 30.0


def chart_signature(found: EnvironmentDrift) -> str:
    """What a new chart is worth posting for: the version, the status, and which features drift."""
    report = found.report
    parts = [*report.features, *([report.score] if report.score else [])]
    moving = sorted(f"{f.name}:{f.status}" for f in parts if f.status != "ok")
    return f"v{found.version}|{report.status}|{','.join(moving)}"


class ChartUploads:
    """Charts a drift card's thread; :meth:`settle` forgets the episode once the drift is over."""

    def __init__(self, store: Store, notifier: Notifier, files: FileUploader) -> None:
        self.store = store
        self.notifier = notifier
        self.files = files

    def post(self, found: EnvironmentDrift, card_key: str, now: datetime) -> str | None:
        """Upload the chart unless this drift was charted already; the file id, or None if not sent."""
        from ml.drift.chart import alt_text, drift_chart_png  # Pillow: only when there is a chart

        env = found.environment
        signature = chart_signature(found)
        done = self.store.get(NS_DRIFT_CHART, env)
        if done is not None and done.get("signature") == signature:
            return None
        # the chart goes into the card's thread: the card must be in Slack first
        if not self.notifier.flush(CARD_WAIT_SECONDS) or (ref := self.notifier.ref(card_key)) is None:
            log.info("drift chart of %s waits for its card to reach Slack", env)
            return None
        heading = f"Drift · {env} v{found.version} · {now:%Y-%m-%d %H:%M} UTC"
        file_id = upload_into_thread(
            self.files,
            ref,
            png=drift_chart_png(found.report, heading),
            filename=f"drift-{env}-v{found.version}-{now:%Y%m%dT%H%M}.png",
            title=heading,
            alt_txt=alt_text(found.report),
            what=f"drift chart of {env}",
            retried="at the next check",
        )
        if file_id is None:
            return None
        self.store.put(NS_DRIFT_CHART, env, {"signature": signature, "file": file_id, "at": now.isoformat()})
        return file_id

    def settle(self, env: str) -> None:
        self.store.delete(NS_DRIFT_CHART, env)
