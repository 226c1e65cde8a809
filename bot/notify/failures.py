"""What a failed Slack call does to its message: retry it later, pause sending, or park it as dead."""

from __future__ import annotations

import logging
import re

from slack_sdk.errors import SlackApiError

from bot.core.models import format_time
from bot.core.store import Store
from bot.notify.deadletter import NS_OUTBOX_DEAD, NotifyMetrics, ParkReason, classify, notice_text
from bot.notify.outbox import NOTICE_SUFFIX, NS_OUTBOX, Entries, failed_attempts
from bot.notify.pacing import Pacing, retry_after
from bot.notify.plan import Work
from bot.notify.refs import MessageRefs
from ml.clock import Clock

log = logging.getLogger(__name__)

#: what Slack's error codes look like (``invalid_blocks``)
_SLACK_CODE = re.compile(r"[a-z0-9_]{1,64}")


class Failures:
    """Handles Slack's refusals and lost calls for the worker; every attempt is counted in the store."""

    def __init__(
        self,
        store: Store,
        refs: MessageRefs,
        pacing: Pacing,
        metrics: NotifyMetrics,
        clock: Clock,
        *,
        max_attempts: int,
        max_retry_after: float,
        auth_pause: float,
    ) -> None:
        self.store = store
        self.refs = refs
        self.pacing = pacing
        self.metrics = metrics
        self._clock = clock
        self._max_attempts = max_attempts
        self._max_retry_after = max_retry_after
        self._auth_pause = auth_pause

    def api_error(self, work: Work, exc: SlackApiError) -> None:
        """Slack answered with an error: retry, pause, post anew or park, as the error says."""
        response = exc.response
        status = int(getattr(response, "status_code", 0) or 0)
        data = getattr(response, "data", None)
        error = str(data.get("error", "")) if isinstance(data, dict) else ""
        if not _SLACK_CODE.fullmatch(error):  # e.g. slack_sdk's note about a non-JSON 5xx page
            error = ""
        now = self._clock.monotonic()
        verdict = classify(status, error)
        if verdict == "rate_limited":
            delay = retry_after(getattr(response, "headers", None) or {}, self._max_retry_after)
            self.pacing.pause(work.method, now + delay)
            log.warning("Slack rate-limited %s: pausing it for %.1f s", work.method, delay)
            # Counted too: a message Slack keeps rate-limiting must not be retried forever.
            self.retry_later(work, error or f"http_{status}", str(exc), delay=delay, maybe_sent=False)
            return
        if verdict == "transient":
            self.retry_later(work, error or f"http_{status}", str(exc))
            return
        if verdict == "auth":
            self.pacing.pause_all(now + self._auth_pause)
            log.error(
                "Slack rejected the bot's credentials (%s): all notifications paused for %.0f s; "
                "fix the token or scopes, nothing is lost",
                error,
                self._auth_pause,
            )
            return
        if work.kind == "update" and error == "message_not_found":
            # Someone deleted the message: post the newest state as a new one instead.
            assert work.key is not None
            log.warning("Slack message for %s is gone; it will be posted again", work.key)
            self.refs.forget(work.key)
            return
        self.park(work.entries, error or f"http_{status}", str(exc), "permanent")

    def retry_later(
        self, work: Work, error: str, detail: str, *, delay: float | None = None, maybe_sent: bool = True
    ) -> None:
        """Count a failed attempt (durably, in the newest entry); park the message after the last one.

        ``maybe_sent``: Slack may have accepted the post anyway (a timeout, a 5xx), so its
        ``sending_at`` mark stays and the next attempt looks for it first.
        """
        attempt = failed_attempts(work.entries) + 1
        self.metrics.retries.inc()
        if attempt >= self._max_attempts:
            self.park(work.entries, error, detail, "retries_exhausted", attempts=attempt)
            return
        okey, newest = work.entries[-1]
        entry = {**newest, "attempts": attempt}
        if not maybe_sent:
            entry.pop("sending_at", None)
        self.store.put(NS_OUTBOX, okey, entry)
        delay = self.pacing.backoff(attempt) if delay is None else delay
        self.pacing.retry_at(work.item, self._clock.monotonic() + delay)
        log.warning(
            "Slack %s for %s failed (%s), attempt %d of %d; retry in %.2f s",
            work.kind,
            work.item,
            error,
            attempt,
            self._max_attempts,
            delay,
        )

    def park(
        self,
        entries: Entries,
        error: str,
        detail: str,
        reason: ParkReason,
        *,
        attempts: int | None = None,
    ) -> None:
        """Move a message to the dead letters, count it, and queue a notice in its place."""
        at = format_time(self._clock.now())
        tries = attempts if attempts is not None else failed_attempts(entries) + 1
        first_okey, newest = entries[0][0], entries[-1][1]
        if reason != "malformed" and not newest.get("notice"):
            # The notice takes the message's place in the queue (its key sorts right after it).
            target = newest.get("thread_key") or newest.get("key")
            self.store.put(
                NS_OUTBOX,
                first_okey + NOTICE_SUFFIX,
                {
                    "op": "reply",
                    "thread_key": str(target),
                    "text": notice_text(error),
                    "blocks": None,
                    "notice": True,
                    "queued_at": at,
                },
            )
        for okey, entry in entries:
            self.store.put(
                NS_OUTBOX_DEAD,
                okey,
                {**entry, "error": error, "detail": detail[:2000], "failed_at": at, "attempts": tries},
            )
            self.store.delete(NS_OUTBOX, okey)
        self.metrics.dead_letters.labels(reason).inc()
        keys = sorted({str(e.get("key") or e.get("thread_key")) for _, e in entries})
        log.error(
            "Slack refused a notification (%s, %s after %d attempt%s) for %s: parked %d entr%s in %r: %s",
            error,
            reason,
            tries,
            "" if tries == 1 else "s",
            ", ".join(keys),
            len(entries),
            "y" if len(entries) == 1 else "ies",
            NS_OUTBOX_DEAD,
            detail[:300],
        )
        for okey, entry in entries:
            self.pacing.clear(f"k:{entry['key']}" if entry.get("op") == "upsert" else f"r:{okey}")
