"""Sending one piece of outbox work to Slack, and settling a post that Slack may already have."""

from __future__ import annotations

import http.client
import logging
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.core.store import Store
from bot.notify.failures import Failures
from bot.notify.outbox import NS_OUTBOX, SlackPoster, failed_attempts, payload_hash
from bot.notify.pacing import Pacing
from bot.notify.plan import Work
from bot.notify.recover import LookupFailed, find_post, post_metadata
from bot.notify.refs import MessageRefs
from ml.clock import Clock

log = logging.getLogger(__name__)


class _Failed(Exception):
    """A Slack call that failed, with the wall time it ended (None for a reply)."""

    def __init__(self, error: Exception, sent_at: float | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.sent_at = sent_at


class Delivery:
    """Makes the worker's Slack calls and records their results (references, settled entries)."""

    def __init__(
        self,
        client: SlackPoster,
        store: Store,
        refs: MessageRefs,
        pacing: Pacing,
        failures: Failures,
        clock: Clock,
    ) -> None:
        self.client = client
        self.store = store
        self.refs = refs
        self.pacing = pacing
        self.failures = failures
        self._clock = clock
        #: called with a message key once Slack has it (what goes into a new card's thread waits for it)
        self.created: list[Callable[[str], None]] = []
        self._lookup_warned = False

    def already_sent(self, work: Work) -> bool:
        """Settle an update whose newest state is the one Slack shows already."""
        assert work.key is not None
        ref = self.refs.get(work.key)
        newest = work.newest
        if ref is None or ref.get("hash") != payload_hash(newest["text"], newest.get("blocks")):
            return False
        self.settle(work)
        return True

    def send(self, work: Work, channel: str, now: float) -> None:
        """One ``chat.postMessage`` or ``chat.update`` for ``work`` (or a lookup of a maybe-sent post)."""
        if work.kind != "update" and any(e.get("sending_at") is not None for _, e in work.entries):
            self._recover(work)
            return
        newest = work.newest
        self.pacing.bucket(work, channel).take(now)
        kwargs: dict[str, Any] = {"channel": channel, "text": newest["text"]}
        if newest.get("blocks") is not None:
            kwargs["blocks"] = newest["blocks"]
        thread_ts: str | None = None
        if work.kind != "update":
            kwargs["metadata"] = post_metadata(self._mark_sending(work))
            channel, thread_ts = self.refs.thread_target(work)
            if thread_ts is not None:
                kwargs["thread_ts"] = thread_ts
        try:
            resp, sent_at = self._call(work, kwargs)
        except _Failed as failed:
            self._failed(work, failed.error, failed.sent_at)
            return

        digest = payload_hash(newest["text"], newest.get("blocks"))
        if work.kind == "update":
            assert work.key is not None
            ref = self.refs.get(work.key) or {}
            self.refs.save(work.key, {**ref, "hash": digest, "sent_at": sent_at})
        elif work.kind == "create":
            assert work.key is not None
            posted_channel = str(resp["channel"])
            self.pacing.learn_channel_id(channel, posted_channel)
            ref = {"channel": posted_channel, "ts": str(resp["ts"]), "thread_ts": thread_ts, "hash": digest}
            self.refs.save(work.key, {**ref, "sent_at": sent_at})
        self.settle(work)
        if work.kind == "create" and work.key is not None:
            self._created(work.key)
        retries = failed_attempts(work.entries)
        if retries:
            log.info("Slack %s for %s went through after %d retries", work.kind, work.item, retries)

    def _call(self, work: Work, kwargs: dict[str, Any]) -> tuple[Any, float | None]:
        """Slack's answer, and the wall time the call ended if it wrote a keyed message.

        The end is noted in the pacing whatever the outcome, before anything else can happen:
        Slack has the call by then, if it ever will, and the message's next call counts from it.
        """
        try:
            if work.kind == "update":
                assert work.key is not None
                ref = self.refs.get(work.key)
                assert ref is not None
                resp = self.client.chat_update(ts=ref["ts"], **kwargs)
            else:
                resp = self.client.chat_postMessage(**kwargs)
        except Exception as exc:
            raise _Failed(exc, self._ended(work)) from exc
        return resp, self._ended(work)

    def _ended(self, work: Work) -> float | None:
        if work.key is None:
            return None
        return self.pacing.sent(work.key, self._clock.monotonic()).wall

    def _failed(self, work: Work, exc: Exception, sent_at: float | None) -> None:
        """Record a failed call's end with the message (for a process that drains next), then handle it."""
        if work.kind == "update" and sent_at is not None:
            assert work.key is not None
            ref = self.refs.get(work.key)
            if ref is not None:  # the update may have taken effect although its answer was lost
                self.refs.save(work.key, {**ref, "sent_at": sent_at})
        if isinstance(exc, SlackApiError):
            self.failures.api_error(work, exc)
        elif isinstance(exc, SlackRequestError):  # the client refused the arguments: no retry can fix that
            self.failures.park(work.entries, "invalid_request", str(exc), "invalid_request")
        elif isinstance(exc, OSError | http.client.HTTPException):
            self.failures.retry_later(work, type(exc).__name__, str(exc))
        else:  # unknown client failure: retry (a bounded number of times)
            log.error("unexpected error sending %s", work.item, exc_info=exc)
            self.failures.retry_later(work, type(exc).__name__, str(exc))

    def _created(self, key: str) -> None:
        for listener in self.created:
            try:
                listener(key)
            except Exception:  # a listener's failure must not stop delivery
                log.exception("listener of the new message %s failed", key)

    def settle(self, work: Work) -> None:
        """Remove the entries ``work`` has delivered from the outbox."""
        for okey, _ in work.entries:
            self.store.delete(NS_OUTBOX, okey)
        self.pacing.clear(work.item)

    def _mark_sending(self, work: Work) -> str:
        """Record durably that the newest entry is being posted (one store write); its outbox key."""
        okey, newest = work.entries[-1]
        marked = {**newest, "sending_at": self._clock.wall()}  # compared with Slack's message ts
        self.store.put(NS_OUTBOX, okey, marked)
        work.entries[-1] = (okey, marked)  # later writes of this entry keep the mark
        return okey

    def _recover(self, work: Work) -> None:
        """Settle a post that Slack may have accepted already, or unmark it so the next step posts it."""
        marked = [(okey, e) for okey, e in work.entries if e.get("sending_at") is not None]
        channel, thread_ts = self.refs.thread_target(work)
        channel = self.pacing.channel_id(channel)
        since = min(float(e["sending_at"]) for _, e in marked)
        try:
            found = find_post(self.client, channel, thread_ts, {okey for okey, _ in marked}, since)
        except LookupFailed as exc:
            found = None
            level = logging.INFO if self._lookup_warned else logging.WARNING
            self._lookup_warned = True
            log.log(
                level,
                "cannot tell whether Slack got the %s for %s (%s): posting it again, which may duplicate it; "
                "grant channels:history (groups:history for a private channel) to avoid this",
                work.kind,
                work.item,
                exc,
            )
        if found is None:
            for okey, entry in marked:
                self.store.put(NS_OUTBOX, okey, {k: v for k, v in entry.items() if k != "sending_at"})
            return
        done = next(i for i, (okey, _) in enumerate(work.entries) if okey == found.outbox_id)
        if work.kind == "create":
            assert work.key is not None
            posted = work.entries[done][1]
            digest = payload_hash(posted["text"], posted.get("blocks"))
            ref = {"channel": found.channel, "ts": found.ts, "thread_ts": thread_ts, "hash": digest}
            # The post reached Slack before this lookup ended (maybe from a process now gone).
            self.refs.save(work.key, {**ref, "sent_at": self._ended(work)})
        # Newer states of the same key stay queued: they become an update of the message found.
        self.settle(Work(work.kind, work.item, work.entries[: done + 1], work.key))
        log.info(
            "Slack already has the %s for %s (ts %s): not posting it again", work.kind, work.item, found.ts
        )
