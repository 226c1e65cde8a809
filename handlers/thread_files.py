"""A file (a chart) uploaded into a message's thread with ``files_upload_v2``: the drift card's chart and
the release card's confusion matrix go up the same way."""

from __future__ import annotations

import logging
from typing import Any, Protocol, runtime_checkable

from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger(__name__)

__all__ = ["FileUploader", "upload_into_thread"]


@runtime_checkable
class FileUploader(Protocol):
    """What uploads a file: ``slack_sdk.WebClient``."""

    def files_upload_v2(self, **kwargs: Any) -> Any: ...


def upload_into_thread(
    files: FileUploader,
    thread: tuple[str, str],
    *,
    png: bytes,
    filename: str,
    title: str,
    alt_txt: str,
    what: str,
    retried: str,
) -> str | None:
    """Upload ``png`` into the thread of ``thread`` (channel, ts); its file id, or None when Slack
    refused or could not be reached (logged, naming ``what`` and when it is ``retried``)."""
    channel, ts = thread
    try:
        answer = files.files_upload_v2(
            channel=channel, thread_ts=ts, file=png, filename=filename, title=title, alt_txt=alt_txt
        )
    except (SlackApiError, SlackClientError, OSError) as exc:
        log.warning("%s not uploaded, tried again %s: %s", what, retried, exc)
        return None
    return str((answer.get("file") or {}).get("id", ""))
