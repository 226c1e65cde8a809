"""Finding a post whose answer never came back, so the outbox does not post it twice.

Slack has no idempotency key for ``chat.postMessage``. Instead every post carries message metadata
naming its outbox entry (``event_type`` ``mlops_outbox``, payload ``{"outbox_id": <outbox key>}``), and
the entry is marked ``sending_at`` (wall-clock seconds) in the store just before the call. An entry
found with that mark was maybe posted: the process died, or the call timed out or lost its connection,
after Slack accepted it. Before posting it again the notifier reads the thread
(``conversations.replies``) or the channel around ``sending_at`` (``conversations.history``), both with
``include_all_metadata``, and takes the message carrying the entry's id as the post if there is one.
Reading needs the ``channels:history`` scope (``groups:history`` for a private channel).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from slack_sdk.errors import SlackApiError

EVENT_TYPE = "mlops_outbox"
#: how far Slack's clock (a message's ts) may be from ours, plus the longest a post call may take
WINDOW_SECONDS = 120.0
#: messages read in one lookup; a busier window is inconclusive (and the entry is posted again)
LOOKUP_LIMIT = 200
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{6,}")


class SlackReader(Protocol):
    """The reading slice of ``slack_sdk.WebClient`` the lookup uses."""

    def conversations_history(self, *, channel: str, **kwargs: Any) -> Any: ...

    def conversations_replies(self, *, channel: str, ts: str, **kwargs: Any) -> Any: ...


class LookupFailed(Exception):
    """Slack could not tell whether the post exists (missing scope, error, too many messages)."""


@dataclass(frozen=True)
class Found:
    outbox_id: str
    channel: str
    ts: str


def post_metadata(outbox_id: str) -> dict[str, Any]:
    """The ``metadata`` argument of ``chat.postMessage`` that names the outbox entry being posted."""
    return {"event_type": EVENT_TYPE, "event_payload": {"outbox_id": outbox_id}}


def find_post(
    client: SlackReader, channel: str, thread_ts: str | None, outbox_ids: set[str], sending_at: float
) -> Found | None:
    """The message carrying one of ``outbox_ids`` posted around ``sending_at``; None if there is none.

    Raises ``LookupFailed`` when Slack's answer cannot settle the question.
    """
    if not _CHANNEL_ID.fullmatch(channel):
        # conversations.* take only IDs; a channel configured by name is known by ID once posted to.
        raise LookupFailed(f"channel {channel!r} is not a channel ID")
    window = {
        "oldest": f"{sending_at - WINDOW_SECONDS:.6f}",
        "latest": f"{sending_at + WINDOW_SECONDS:.6f}",
        "include_all_metadata": True,
        "limit": LOOKUP_LIMIT,
    }
    try:
        if thread_ts is None:
            resp = client.conversations_history(channel=channel, **window)
        else:
            resp = client.conversations_replies(channel=channel, ts=thread_ts, **window)
    except SlackApiError as exc:
        data = getattr(exc.response, "data", None)
        error = data.get("error") if isinstance(data, dict) else None
        raise LookupFailed(str(error or exc)) from exc
    except Exception as exc:  # connection errors, timeouts: the question stays open
        raise LookupFailed(f"{type(exc).__name__}: {exc}") from exc
    for message in resp.get("messages") or []:
        meta = message.get("metadata") or {}
        payload = meta.get("event_payload") or {}
        if meta.get("event_type") == EVENT_TYPE and payload.get("outbox_id") in outbox_ids:
            return Found(str(payload["outbox_id"]), channel, str(message["ts"]))
    if resp.get("has_more"):
        raise LookupFailed(f"more than {LOOKUP_LIMIT} messages around the post")
    return None
