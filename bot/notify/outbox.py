"""The outbox's vocabulary: store namespaces, the Slack client slice it uses, and helpers on its entries."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Protocol

from bot.core.store import Record
from bot.notify.recover import SlackReader

NS_MESSAGE = "message"
NS_OUTBOX = "outbox"
NS_LEASE = "lease"
#: suffix of a dead letter's outbox key that names the notice taking its place (sorts right after it)
NOTICE_SUFFIX = "~notice"

Blocks = list[dict[str, Any]]
Entries = list[tuple[str, Record]]


class SlackPoster(SlackReader, Protocol):
    """The slice of ``slack_sdk.WebClient`` the notifier uses."""

    def chat_postMessage(self, *, channel: str, **kwargs: Any) -> Any: ...  # slack_sdk's method name

    def chat_update(self, *, channel: str, ts: str, **kwargs: Any) -> Any: ...


def payload_hash(text: str, blocks: Blocks | None) -> str:
    """A digest of what a message shows, to skip sending a state identical to the last one sent."""
    body = json.dumps({"text": text, "blocks": blocks}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def failed_attempts(entries: Entries) -> int:
    """Failed attempts recorded so far for a message (kept in its outbox entries, so restarts count)."""
    return max((int(e.get("attempts") or 0) for _, e in entries), default=0)
