"""The one outgoing path for Slack notifications: a durable outbox drained by a rate-limited worker.

Messages are addressed by a stable key (``run:<execution>``, ``card:v3``) so that a later state of the
same thing updates the same message, and replies go into the thread of the message a ``thread_key``
names. ``upsert`` and ``reply`` only append to the outbox (store namespace ``outbox``, time-ordered
keys) and return: a Slack listener can call them before its 3-second ack without waiting for Slack.

One worker thread sends what the outbox holds:

* ``chat.postMessage`` (new messages and replies) in queue order, so a thread's parent is created
  before anything posted into the thread and replies keep their order; when a reply names a parent
  that is still queued later on, the parent is created first. Each channel gets a token bucket
  (about 1 post per second with a small burst, as Slack asks).
* ``chat.update`` for keys that already have a message, from a separate bucket (Tier 3). Pending
  states of one key coalesce: only the newest is sent, and a state identical to the last one sent
  (by hash) is not sent again.
* HTTP 429 pauses that method for ``Retry-After``; 5xx, timeouts and connection errors are retried
  with exponential backoff and jitter, ``max_attempts`` times in all. A post being retried holds back
  only the posts queued after it *in the same thread* (which keeps every thread in order); other
  threads and top-level messages keep flowing. A permanent error (``channel_not_found``,
  ``invalid_blocks``, …) or the last failed attempt parks the message as a dead letter, with a
  notice in its thread and a metric (``bot.notify_deadletter``), so nothing is silently lost and
  nothing is retried forever. Token or scope problems pause all sending (they are not the message's
  fault) until fixed.

Message references ``(channel, ts)`` are written to the store (namespace ``message``) right after
Slack accepts a post, before the outbox entry is removed, so a restarted process (a new ``Notifier``
on the same store) carries on with the same messages and threads and never re-posts a key whose
reference was saved. Each post is marked ``sending_at`` in its outbox entry just before the call and
carries the entry's id in its message metadata: an entry found still marked (the process died, or the
call timed out, after Slack accepted the post) is first looked for in Slack (``bot.notify_recover``)
and settled with the message found instead of being posted twice. Only if that lookup cannot answer
(no ``channels:history`` scope, an error) is it posted again, with a warning: at least once.

Several processes may share a store: a lease (namespace ``lease``) lets one of them drain the
outbox at a time; the others only enqueue. A crashed holder's lease lapses after ``lease_seconds``.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import random
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.core.models import format_time
from bot.core.service import local_owner_is_dead
from bot.core.store import Record, Store
from bot.notify_deadletter import (
    AUTH_ERRORS,
    NS_OUTBOX_DEAD,
    TRANSIENT_ERRORS,
    NotifyMetrics,
    ParkReason,
    classify,
    notice_text,
)
from bot.notify_pacing import Bucket, retry_after
from bot.notify_plan import Plan, Work
from bot.notify_recover import LookupFailed, SlackReader, find_post, post_metadata

log = logging.getLogger(__name__)

__all__ = [
    "AUTH_ERRORS",
    "NS_LEASE",
    "NS_MESSAGE",
    "NS_OUTBOX",
    "NS_OUTBOX_DEAD",
    "TRANSIENT_ERRORS",
    "Notifier",
    "SlackPoster",
    "payload_hash",
]

NS_MESSAGE = "message"
NS_OUTBOX = "outbox"
NS_LEASE = "lease"
LEASE_KEY = "notifier"
#: suffix of a dead letter's outbox key that names the notice taking its place (sorts right after it)
NOTICE_SUFFIX = "~notice"
#: what Slack's error codes look like (``invalid_blocks``)
_SLACK_CODE = re.compile(r"[a-z0-9_]{1,64}")

Blocks = list[dict[str, Any]]


class SlackPoster(SlackReader, Protocol):
    """The slice of ``slack_sdk.WebClient`` the notifier uses."""

    def chat_postMessage(self, *, channel: str, **kwargs: Any) -> Any: ...  # slack_sdk's method name

    def chat_update(self, *, channel: str, ts: str, **kwargs: Any) -> Any: ...


def payload_hash(text: str, blocks: Blocks | None) -> str:
    body = json.dumps({"text": text, "blocks": blocks}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


class Notifier:
    """Durable, ordered, rate-limited Slack writer. Thread-safe; see the module docstring."""

    def __init__(
        self,
        client: SlackPoster,
        store: Store,
        channel: str,
        *,
        start_worker: bool = True,
        post_rate: float = 1.0,
        post_burst: int = 3,
        update_rate: float = 50 / 60,
        update_burst: int = 5,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        max_retry_after: float = 300.0,
        auth_pause: float = 300.0,
        lease_seconds: int = 30,
        batch: int = 500,
        idle_poll: float = 1.0,
        message_interval: float = 1.0,
        max_attempts: int = 8,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        metrics: NotifyMetrics | None = None,
    ) -> None:
        if not channel:
            raise ValueError("Notifier needs a channel (ID or #name) for top-level messages")
        for name, value in (("post_rate", post_rate), ("update_rate", update_rate)):
            if value <= 0:
                raise ValueError(f"{name} must be > 0 calls per second, got {value}")
        for name, value in (("post_burst", post_burst), ("update_burst", update_burst), ("batch", batch)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if not 0 < backoff_base <= backoff_max:
            raise ValueError(f"need 0 < backoff_base <= backoff_max, got {backoff_base}, {backoff_max}")
        if auth_pause <= 0:
            raise ValueError(f"auth_pause must be > 0 seconds, got {auth_pause}")
        if lease_seconds < 2:
            raise ValueError(f"lease_seconds must be >= 2, got {lease_seconds}")
        if not 1 <= max_attempts <= 100:
            raise ValueError(f"max_attempts must be between 1 and 100, got {max_attempts}")
        self.client = client
        self.store = store
        self.channel = channel
        self._clock = clock
        self._wall_clock = wall_clock  # compared with Slack's message timestamps
        self._lookup_warned = False
        self.metrics = metrics or NotifyMetrics()
        self._max_attempts = max_attempts
        self._post_rate, self._post_burst = post_rate, float(post_burst)
        self._update_bucket = Bucket(update_rate, float(update_burst), clock)
        self._post_buckets: dict[str, Bucket] = {}
        # A message changes at most once per interval: newer states wait and coalesce meanwhile.
        self._message_interval = message_interval
        self._last_written: dict[str, float] = {}
        self._backoff_base, self._backoff_max = backoff_base, backoff_max
        self._max_retry_after = max_retry_after
        self._auth_pause = auth_pause
        self._lease_seconds = lease_seconds
        self._batch = batch
        self._idle_poll = idle_poll

        self._id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._nonce = secrets.token_hex(3)
        self._seq_lock = threading.Lock()
        self._last_us = 0
        # Worker state; touched only while holding _drain_lock.
        self._drain_lock = threading.Lock()
        self._refs: dict[str, Record | None] = {}
        self._channel_ids: dict[str, str] = {}
        self._not_before: dict[str, float] = {}
        self._paused_until: dict[str, float] = {"post": 0.0, "update": 0.0}
        self._lease_until = 0.0
        self._faults = 0

        self._wake = threading.Event()
        self._stop = threading.Event()
        self._progress = threading.Condition()
        self._thread: threading.Thread | None = None
        if start_worker:
            self.start()

    # -- public interface ---------------------------------------------------
    def ref(self, key: str) -> tuple[str, str] | None:
        """The (channel, ts) of the message ``key``; None until the worker has posted it."""
        rec = self.store.get(NS_MESSAGE, key)
        return None if rec is None else (str(rec["channel"]), str(rec["ts"]))

    def upsert(self, key: str, text: str, blocks: Blocks, thread_key: str | None = None) -> None:
        """Queue the newest state of message ``key``: created (in ``thread_key``'s thread) or updated."""
        if not isinstance(key, str) or not key:
            raise ValueError(f"message key must be a non-empty string, got {key!r}")
        if thread_key is not None and (not isinstance(thread_key, str) or not thread_key):
            raise ValueError(f"thread_key must be None or a non-empty string, got {thread_key!r}")
        self._enqueue({"op": "upsert", "key": key, "thread_key": thread_key, "text": text, "blocks": blocks})

    def reply(self, thread_key: str, text: str, blocks: Blocks | None = None) -> None:
        """Queue a reply in ``thread_key``'s thread (top level in the channel if that never existed)."""
        if not isinstance(thread_key, str) or not thread_key:
            raise ValueError(f"thread_key must be a non-empty string, got {thread_key!r}")
        self._enqueue({"op": "reply", "thread_key": thread_key, "text": text, "blocks": blocks})

    def start(self) -> None:
        """Start the background worker (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="slack-notifier", daemon=True)
        self._thread.start()

    def pending(self) -> int:
        """Entries still in the outbox (of every process sharing the store)."""
        return len(self.store.query(NS_OUTBOX))

    def dead_letters(self) -> list[tuple[str, Record]]:
        """Parked notifications with the Slack error that stopped them, oldest first."""
        return self.store.query(NS_OUTBOX_DEAD)

    def step(self) -> float:
        """Make at most one Slack call in this thread; seconds (on the notifier's clock) until more is due."""
        return self._guarded_step()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until the outbox is empty; True if it is. Sends in this thread if no worker runs."""
        deadline = time.monotonic() + max(0.0, timeout)
        self._wake.set()
        inline = False
        try:
            while True:
                if not self.store.query(NS_OUTBOX, limit=1):
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                if self._thread is not None and self._thread.is_alive():
                    with self._progress:
                        self._progress.wait(min(remaining, 0.1))
                    continue
                inline = True
                wait = self._guarded_step()
                if wait > 0:
                    time.sleep(min(wait, remaining))
        finally:
            if inline and not (self._thread is not None and self._thread.is_alive()):
                # Nobody renews the lease between inline flushes: let another process drain meanwhile.
                with self._drain_lock:
                    self._release_lease()

    def close(self, timeout: float = 10.0) -> None:
        """Flush for up to ``timeout`` seconds, then stop the worker; what is left stays queued.

        Later ``upsert``/``reply`` calls still queue durably for the next worker or ``flush``.
        """
        thread = self._thread
        if thread is not None and thread.is_alive():
            if timeout > 0:
                self.flush(timeout)
            self._stop.set()
            self._wake.set()
            # A Slack call in flight finishes (and records its result) before the worker exits.
            thread.join(max(timeout, 5.0))
            if thread.is_alive():
                log.error("Slack notifier worker did not stop; keeping its outbox lease until it lapses")
                return
        with self._drain_lock:
            self._release_lease()

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- enqueue ------------------------------------------------------------
    def _enqueue(self, entry: Record) -> None:
        if not isinstance(entry["text"], str):
            raise TypeError(f"text must be a string, got {type(entry['text']).__name__}")
        if entry["blocks"] is not None and not isinstance(entry["blocks"], list):
            raise TypeError(f"blocks must be a list of Block Kit dicts, got {type(entry['blocks']).__name__}")
        with self._seq_lock:
            # Strictly increasing within the process even if the wall clock steps back.
            us = max(time.time_ns() // 1000, self._last_us + 1)
            self._last_us = us
        when = datetime.fromtimestamp(us // 1_000_000, UTC).replace(microsecond=us % 1_000_000)
        okey = f"{format_time(when)}#{self._nonce}"  # the nonce keeps processes apart
        self.store.put(NS_OUTBOX, okey, {**entry, "queued_at": format_time(when)})
        self._wake.set()

    # -- worker -------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            wait = self._guarded_step()
            if wait > 0:
                self._wake.wait(wait)

    def _guarded_step(self) -> float:
        try:
            with self._drain_lock:
                wait = self._step()
            self._faults = 0
        except Exception:  # the worker must outlive store outages and bugs: it backs off instead
            self._faults += 1
            wait = self._backoff(self._faults)
            log.exception("Slack notifier step failed (attempt %d); retrying in %.1f s", self._faults, wait)
        with self._progress:
            self._progress.notify_all()
        return wait

    def _step(self) -> float:
        """Make at most one Slack call; 0 if it did something, else how long to wait."""
        if self._stop.is_set() and threading.current_thread() is self._thread:
            return 0.0
        now = self._clock()
        if not self._hold_lease(now):
            return self._lease_seconds / 3
        entries = self.store.query(NS_OUTBOX, limit=self._batch)
        if not entries:
            return self._idle_poll
        plan = Plan(entries, lambda key: self._ref(key) is not None)
        for okey, entry, problem in plan.malformed:
            self._park([(okey, entry)], "malformed_entry", problem, "malformed")
        if plan.malformed:
            return 0.0

        waits: list[float] = []
        for work in self._heads(plan) + plan.updates:
            if work.kind == "update" and self._already_sent(work):
                return 0.0
            channel = self._destination(work)
            wait = self._ready_in(work, channel, now)
            if wait <= 0:
                self._send(work, channel, now)
                return 0.0
            waits.append(wait)
        return min(waits, default=self._idle_poll)

    def _heads(self, plan: Plan) -> list[Work]:
        """The first queued post of each Slack thread (and of each top-level message), in queue order.

        Only these may go now: a thread's later posts wait for its head, so they keep their order,
        while a head waiting for a retry holds back nothing outside its own thread.
        """
        heads: list[Work] = []
        lanes: set[str] = set()
        for post in plan.posts:
            work = plan.chase(post)
            lane = self._lane(work)
            if lane not in lanes:
                lanes.add(lane)
                heads.append(work)
        return heads

    def _lane(self, work: Work) -> str:
        """Which Slack thread a post goes to (or the top-level message a create starts)."""
        parent_key = work.newest.get("thread_key")
        parent = self._ref(parent_key) if parent_key else None
        if parent is not None:
            return f"thread:{parent['channel']}:{parent.get('thread_ts') or parent['ts']}"
        return f"key:{work.key or parent_key}"

    # -- references -------------------------------------------------------------
    def _ref(self, key: str) -> Record | None:
        # Only the lease holder writes references, so a cached answer stays right while we hold it.
        if key not in self._refs:
            self._refs[key] = self.store.get(NS_MESSAGE, key)
        return self._refs[key]

    def _save_ref(self, key: str, rec: Record) -> None:
        self.store.put(NS_MESSAGE, key, rec)
        self._refs[key] = rec

    def _thread_target(self, work: Work) -> tuple[str, str | None]:
        """(channel, thread_ts) a new post goes to."""
        parent_key = work.newest.get("thread_key")
        parent = self._ref(parent_key) if parent_key else None
        if parent is None:
            return self.channel, None
        # A message that itself sits in a thread is not a thread root: reply to its root.
        return str(parent["channel"]), str(parent.get("thread_ts") or parent["ts"])

    def _destination(self, work: Work) -> str:
        if work.kind == "update":
            assert work.key is not None
            ref = self._ref(work.key)
            assert ref is not None
            return str(ref["channel"])
        return self._thread_target(work)[0]

    # -- pacing -----------------------------------------------------------------
    def _bucket(self, work: Work, channel: str) -> Bucket:
        if work.kind == "update":
            return self._update_bucket
        channel = self._channel_ids.get(channel, channel)
        if channel not in self._post_buckets:
            self._post_buckets[channel] = Bucket(self._post_rate, self._post_burst, self._clock)
        return self._post_buckets[channel]

    def _learn_channel_id(self, name: str, channel_id: str) -> None:
        # ``#mlops`` and its ID are one channel: they share one bucket (and its spent tokens).
        if name == channel_id or name in self._channel_ids:
            return
        self._channel_ids[name] = channel_id
        if name in self._post_buckets and channel_id not in self._post_buckets:
            self._post_buckets[channel_id] = self._post_buckets.pop(name)

    def _ready_in(self, work: Work, channel: str, now: float) -> float:
        recent = 0.0
        if work.kind == "update" and work.key in self._last_written:
            recent = self._last_written[work.key] + self._message_interval - now
        return max(
            self._paused_until[work.method] - now,
            self._not_before.get(work.item, 0.0) - now,
            self._bucket(work, channel).delay(now),
            recent,
        )

    def _backoff(self, attempt: int) -> float:
        cap = min(self._backoff_max, self._backoff_base * 2 ** min(attempt - 1, 30))
        return random.uniform(cap / 2, cap)

    # -- sending ----------------------------------------------------------------
    def _already_sent(self, work: Work) -> bool:
        assert work.key is not None
        ref = self._ref(work.key)
        newest = work.newest
        if ref is None or ref.get("hash") != payload_hash(newest["text"], newest.get("blocks")):
            return False
        self._settle(work)
        return True

    def _send(self, work: Work, channel: str, now: float) -> None:
        if work.kind != "update" and any(e.get("sending_at") is not None for _, e in work.entries):
            self._recover(work)
            return
        newest = work.newest
        self._bucket(work, channel).take(now)
        kwargs: dict[str, Any] = {"channel": channel, "text": newest["text"]}
        if newest.get("blocks") is not None:
            kwargs["blocks"] = newest["blocks"]
        thread_ts: str | None = None
        if work.kind != "update":
            kwargs["metadata"] = post_metadata(self._mark_sending(work))
        try:
            if work.kind == "update":
                assert work.key is not None
                ref = self._ref(work.key)
                assert ref is not None
                resp = self.client.chat_update(ts=ref["ts"], **kwargs)
            else:
                channel, thread_ts = self._thread_target(work)
                if thread_ts is not None:
                    kwargs["thread_ts"] = thread_ts
                resp = self.client.chat_postMessage(**kwargs)
        except SlackApiError as exc:
            self._api_error(work, exc)
            return
        except SlackRequestError as exc:  # the client refused the arguments: no retry can fix that
            self._park(work.entries, "invalid_request", str(exc), "invalid_request")
            return
        except (OSError, http.client.HTTPException) as exc:
            self._retry_later(work, type(exc).__name__, str(exc))
            return
        except Exception as exc:  # unknown client failure: retry (a bounded number of times)
            log.exception("unexpected error sending %s", work.item)
            self._retry_later(work, type(exc).__name__, str(exc))
            return

        digest = payload_hash(newest["text"], newest.get("blocks"))
        if work.key is not None:
            self._last_written[work.key] = now
        if work.kind == "update":
            assert work.key is not None
            self._save_ref(work.key, {**(self._ref(work.key) or {}), "hash": digest})
        elif work.kind == "create":
            assert work.key is not None
            posted_channel = str(resp["channel"])
            self._learn_channel_id(channel, posted_channel)
            self._save_ref(
                work.key,
                {"channel": posted_channel, "ts": str(resp["ts"]), "thread_ts": thread_ts, "hash": digest},
            )
        self._settle(work)
        retries = _attempts(work.entries)
        if retries:
            log.info("Slack %s for %s went through after %d retries", work.kind, work.item, retries)

    def _mark_sending(self, work: Work) -> str:
        """Record durably that the newest entry is being posted (one store write); its outbox key."""
        okey, newest = work.entries[-1]
        marked = {**newest, "sending_at": self._wall_clock()}
        self.store.put(NS_OUTBOX, okey, marked)
        work.entries[-1] = (okey, marked)  # later writes of this entry keep the mark
        return okey

    def _recover(self, work: Work) -> None:
        """Settle a post that Slack may have accepted already, or unmark it so the next step posts it."""
        marked = [(okey, e) for okey, e in work.entries if e.get("sending_at") is not None]
        channel, thread_ts = self._thread_target(work)
        channel = self._channel_ids.get(channel, channel)
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
            self._save_ref(work.key, ref)
        # Newer states of the same key stay queued: they become an update of the message found.
        self._settle(Work(work.kind, work.item, work.entries[: done + 1], work.key))
        log.info(
            "Slack already has the %s for %s (ts %s): not posting it again", work.kind, work.item, found.ts
        )

    def _settle(self, work: Work) -> None:
        for okey, _ in work.entries:
            self.store.delete(NS_OUTBOX, okey)
        self._not_before.pop(work.item, None)

    def _api_error(self, work: Work, exc: SlackApiError) -> None:
        response = exc.response
        status = int(getattr(response, "status_code", 0) or 0)
        data = getattr(response, "data", None)
        error = str(data.get("error", "")) if isinstance(data, dict) else ""
        if not _SLACK_CODE.fullmatch(error):  # e.g. slack_sdk's note about a non-JSON 5xx page
            error = ""
        now = self._clock()
        verdict = classify(status, error)
        if verdict == "rate_limited":
            delay = retry_after(getattr(response, "headers", None) or {}, self._max_retry_after)
            self._paused_until[work.method] = max(self._paused_until[work.method], now + delay)
            log.warning("Slack rate-limited %s: pausing it for %.1f s", work.method, delay)
            # Counted too: a message Slack keeps rate-limiting must not be retried forever.
            self._retry_later(work, error or f"http_{status}", str(exc), delay=delay, maybe_sent=False)
            return
        if verdict == "transient":
            self._retry_later(work, error or f"http_{status}", str(exc))
            return
        if verdict == "auth":
            for method in self._paused_until:
                self._paused_until[method] = now + self._auth_pause
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
            self.store.delete(NS_MESSAGE, work.key)
            self._refs[work.key] = None
            return
        self._park(work.entries, error or f"http_{status}", str(exc), "permanent")

    def _retry_later(
        self, work: Work, error: str, detail: str, *, delay: float | None = None, maybe_sent: bool = True
    ) -> None:
        """Count a failed attempt (durably, in the newest entry); park the message after the last one.

        ``maybe_sent``: Slack may have accepted the post anyway (a timeout, a 5xx), so its
        ``sending_at`` mark stays and the next attempt looks for it first.
        """
        attempt = _attempts(work.entries) + 1
        self.metrics.retries.inc()
        if attempt >= self._max_attempts:
            self._park(work.entries, error, detail, "retries_exhausted", attempts=attempt)
            return
        okey, newest = work.entries[-1]
        entry = {**newest, "attempts": attempt}
        if not maybe_sent:
            entry.pop("sending_at", None)
        self.store.put(NS_OUTBOX, okey, entry)
        delay = self._backoff(attempt) if delay is None else delay
        self._not_before[work.item] = self._clock() + delay
        log.warning(
            "Slack %s for %s failed (%s), attempt %d of %d; retry in %.2f s",
            work.kind,
            work.item,
            error,
            attempt,
            self._max_attempts,
            delay,
        )

    def _park(
        self,
        entries: list[tuple[str, Record]],
        error: str,
        detail: str,
        reason: ParkReason,
        *,
        attempts: int | None = None,
    ) -> None:
        """Move a message to the dead letters, count it, and queue a notice in its place."""
        at = format_time(datetime.now(UTC))
        tries = attempts if attempts is not None else _attempts(entries) + 1
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
            item = f"k:{entry['key']}" if entry.get("op") == "upsert" else f"r:{okey}"
            self._not_before.pop(item, None)

    # -- lease ----------------------------------------------------------------
    def _hold_lease(self, now: float) -> bool:
        if now < self._lease_until - self._lease_seconds / 2:
            return True
        held = now < self._lease_until
        mine = {"owner": self._id, "at": format_time(datetime.now(UTC))}
        won = self.store.put_if_absent(NS_LEASE, LEASE_KEY, mine, ttl_seconds=self._lease_seconds)
        if not won:
            current = self.store.get(NS_LEASE, LEASE_KEY)
            # A process of this host that crashed holding the lease (a restart after SIGKILL or OOM):
            # take over now rather than leave Slack silent until the lease lapses.
            if (
                current is not None
                and current.get("owner") != self._id
                and _holder_died(current)
                and self.store.replace_if(NS_LEASE, LEASE_KEY, current, mine)
            ):
                log.warning("took over the Slack outbox lease of %s, which is gone", current.get("owner"))
                current = mine
            if current is None or current.get("owner") != self._id:
                if held:
                    log.warning("lost the Slack outbox lease to %s", (current or {}).get("owner"))
                self._lease_until = 0.0
                return False
            self.store.put(NS_LEASE, LEASE_KEY, mine, ttl_seconds=self._lease_seconds)  # renew
        if not held:
            # References written by the previous holder are unknown to this process's cache.
            self._refs.clear()
        self._lease_until = now + self._lease_seconds - 1
        return True

    def _release_lease(self) -> None:
        if self._lease_until == 0.0:
            return
        self._lease_until = 0.0
        current = self.store.get(NS_LEASE, LEASE_KEY)
        if current is not None and current.get("owner") == self._id:
            self.store.delete(NS_LEASE, LEASE_KEY)


def _holder_died(lease: Record) -> bool:
    """True when the lease names a process of this host (``host:pid:nonce``) that no longer runs."""
    host_pid, _, _ = str(lease.get("owner", "")).rpartition(":")
    return bool(host_pid) and local_owner_is_dead(host_pid)


def _attempts(entries: list[tuple[str, Record]]) -> int:
    """Failed attempts recorded so far for a message (kept in its outbox entries, so restarts count)."""
    return max((int(e.get("attempts") or 0) for _, e in entries), default=0)
