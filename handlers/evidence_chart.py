"""The release card's confusion matrix, uploaded into the card's thread with ``files_upload_v2``.

Once per version: a claim in the store (with a lifetime, so a process that dies mid-upload does not block
the matrix for good) keeps two events from uploading it twice, and the record written after the upload
keeps every later event from uploading it again. A failed upload drops the claim: the version's next
model package event tries again.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.evidence import Evidence
from bot.core.store import Store
from bot.notify import Notifier

from .render.release_card import card_key
from .thread_files import FileUploader, upload_into_thread

__all__ = ["NS_EVIDENCE_CHART", "EvidenceCharts"]

NS_EVIDENCE_CHART = "evidence-chart"
#: how long a claim holds off other uploads of the same matrix
CLAIM_SECONDS = 120


class EvidenceCharts:
    def __init__(self, store: Store, notifier: Notifier, files: FileUploader) -> None:
        self.store = store
        self.notifier = notifier
        self.files = files

    def done(self, version: int) -> bool:
        """Whether the version's matrix is in its thread (or being uploaded now)."""
        return self.store.get(NS_EVIDENCE_CHART, f"v{version}") is not None

    def post(self, evidence: Evidence, group: str, now: datetime | None = None) -> str | None:
        """Upload ``evidence``'s matrix unless it is there already; the file id, or None if not sent."""
        matrix = evidence.confusion
        if matrix is None:
            return None
        key = f"v{evidence.version}"
        if self.done(evidence.version):
            return None
        # the matrix goes into the card's thread: the card must be in Slack first (``on_created`` calls
        # again when it is); nothing here waits for Slack, which would hold up the caller's events
        if (ref := self.notifier.ref(card_key(evidence.version))) is None:
            return None
        if not self.store.put_if_absent(NS_EVIDENCE_CHART, key, {"claim": True}, ttl_seconds=CLAIM_SECONDS):
            return None
        from ml.evidence.chart import alt_text, confusion_png  # Pillow: only when there is a matrix

        heading = f"{group} v{evidence.version} · {matrix.total:,} test rows"
        file_id = upload_into_thread(
            self.files,
            ref,
            png=confusion_png(matrix, heading),
            filename=f"confusion-matrix-v{evidence.version}.png",
            title=f"Confusion matrix · v{evidence.version}",
            alt_txt=alt_text(matrix),
            what=f"confusion matrix of {key}",
            retried="at its next event",
        )
        if file_id is None:
            self.store.delete(NS_EVIDENCE_CHART, key)  # the claim goes: the next event tries again
            return None
        at = (now or datetime.now(UTC)).isoformat()
        self.store.put(NS_EVIDENCE_CHART, key, {"file": file_id, "at": at})
        return file_id
