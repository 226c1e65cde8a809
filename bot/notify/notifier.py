"""The ``Notifier``: queues message states in the outbox and drains it with one worker thread."""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from bot.core.models import format_time
from bot.core.store import Record, Store
from bot.notify.deadletter import NS_OUTBOX_DEAD, NotifyMetrics
from bot.notify.delivery import Delivery
from bot.notify.failures import Failures
from bot.notify.lease import OutboxLease
from bot.notify.outbox import NS_MESSAGE, NS_OUTBOX, Blocks, SlackPoster
from bot.notify.pacing import Pacing
from bot.notify.plan import Plan, Work
from bot.notify.refs import MessageRefs
from ml.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger(__name__)


class Notifier:
    """Durable, ordered, rate-limited Slack writer. Thread-safe; see the ``bot.notify`` docstring.

    Every reading of the time goes through ``clock``: monotonic for pacing, leases and ``flush``'s
    deadline, wall time for outbox keys and the marks compared with Slack's timestamps. The worker
    thread waits on an event in real time; a fake clock drives ``step`` and an inline ``flush``.
    """

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
        clock: Clock = SYSTEM_CLOCK,
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
        self.store = store
        self.channel = channel
        self.metrics = metrics or NotifyMetrics()
        self._clock = clock
        self._batch = batch
        self._idle_poll = idle_poll
        # Worker state; touched only while holding _drain_lock.
        self._refs = MessageRefs(store, channel)
        self._pacing = Pacing(
            clock,
            post_rate=post_rate,
            post_burst=post_burst,
            update_rate=update_rate,
            update_burst=update_burst,
            message_interval=message_interval,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
        )
        self._failures = Failures(
            store,
            self._refs,
            self._pacing,
            self.metrics,
            clock,
            max_attempts=max_attempts,
            max_retry_after=max_retry_after,
            auth_pause=auth_pause,
        )
        self._delivery = Delivery(client, store, self._refs, self._pacing, self._failures, clock)
        self._lease = OutboxLease(store, lease_seconds, on_acquire=self._refs.clear, clock=clock)
        self._drain_lock = threading.Lock()
        self._faults = 0

        self._nonce = secrets.token_hex(3)
        self._seq_lock = threading.Lock()
        self._last_us = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._progress = threading.Condition()
        self._thread: threading.Thread | None = None
        if start_worker:
            self.start()

    @property
    def client(self) -> SlackPoster:
        """The Web API client the worker calls."""
        return self._delivery.client

    # -- public interface ---------------------------------------------------
    def ref(self, key: str) -> tuple[str, str] | None:
        """The (channel, ts) of the message ``key``; None until the worker has posted it."""
        rec = self.store.get(NS_MESSAGE, key)
        return None if rec is None else (str(rec["channel"]), str(rec["ts"]))

    def on_created(self, listener: Callable[[str], None]) -> None:
        """Call ``listener`` with a message's key once Slack has it (from the worker, after it was saved)."""
        self._delivery.created.append(listener)

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
        deadline = self._clock.monotonic() + max(0.0, timeout)
        self._wake.set()
        inline = False
        try:
            while True:
                if not self.store.query(NS_OUTBOX, limit=1):
                    return True
                remaining = deadline - self._clock.monotonic()
                if remaining <= 0:
                    return False
                if self._thread is not None and self._thread.is_alive():
                    with self._progress:
                        self._progress.wait(min(remaining, 0.1))
                    continue
                inline = True
                wait = self._guarded_step()
                if wait > 0:
                    self._clock.sleep(min(wait, remaining))
        finally:
            if inline and not (self._thread is not None and self._thread.is_alive()):
                # Nobody renews the lease between inline flushes: let another process drain meanwhile.
                with self._drain_lock:
                    self._lease.release()

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
            self._lease.release()

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
            us = max(int(self._clock.wall() * 1_000_000), self._last_us + 1)
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
            wait = self._pacing.backoff(self._faults)
            log.exception("Slack notifier step failed (attempt %d); retrying in %.1f s", self._faults, wait)
        with self._progress:
            self._progress.notify_all()
        return wait

    def _step(self) -> float:
        """Make at most one Slack call; 0 if it did something, else how long to wait."""
        if self._stop.is_set() and threading.current_thread() is self._thread:
            return 0.0
        now = self._clock.monotonic()
        if not self._lease.hold(now):
            return self._lease.seconds / 3
        entries = self.store.query(NS_OUTBOX, limit=self._batch)
        if not entries:
            return self._idle_poll
        plan = Plan(entries, lambda key: self._refs.get(key) is not None)
        for okey, entry, problem in plan.malformed:
            self._failures.park([(okey, entry)], "malformed_entry", problem, "malformed")
        if plan.malformed:
            return 0.0

        waits: list[float] = []
        for work in self._heads(plan) + plan.updates:
            if work.kind == "update" and self._delivery.already_sent(work):
                return 0.0
            channel = self._refs.destination(work)
            sent_at = self._refs.sent_at(work.key) if work.key is not None else None
            wait = self._pacing.ready_in(work, channel, now, sent_at)
            if wait <= 0:
                self._delivery.send(work, channel, now)
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
            lane = self._refs.lane(work)
            if lane not in lanes:
                lanes.add(lane)
                heads.append(work)
        return heads
