"""Which of the processes sharing a store drains the outbox: a lease that lapses when its holder dies."""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Callable

from bot.core.models import format_time
from bot.core.service import local_owner_is_dead
from bot.core.store import Record, Store
from bot.notify.outbox import NS_LEASE
from ml.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger(__name__)

LEASE_KEY = "notifier"


class OutboxLease:
    """One notifier's claim on the outbox: ``hold`` before each step, ``release`` when it stops draining."""

    def __init__(
        self, store: Store, seconds: int, on_acquire: Callable[[], None], clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.store = store
        self.clock = clock
        self.seconds = seconds
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._on_acquire = on_acquire  # what the previous holder wrote is unknown to this process
        self._until = 0.0

    def hold(self, now: float) -> bool:
        """Take or renew the lease; False while another process holds it."""
        if now < self._until - self.seconds / 2:
            return True
        held = now < self._until
        mine = {"owner": self.owner, "at": format_time(self.clock.now())}
        won = self.store.put_if_absent(NS_LEASE, LEASE_KEY, mine, ttl_seconds=self.seconds)
        if not won:
            current = self.store.get(NS_LEASE, LEASE_KEY)
            # A process of this host that crashed holding the lease (a restart after SIGKILL or OOM):
            # take over now rather than leave Slack silent until the lease lapses.
            if (
                current is not None
                and current.get("owner") != self.owner
                and _holder_died(current)
                and self.store.replace_if(NS_LEASE, LEASE_KEY, current, mine)
            ):
                log.warning("took over the Slack outbox lease of %s, which is gone", current.get("owner"))
                current = mine
            if current is None or current.get("owner") != self.owner:
                if held:
                    log.warning("lost the Slack outbox lease to %s", (current or {}).get("owner"))
                self._until = 0.0
                return False
            self.store.put(NS_LEASE, LEASE_KEY, mine, ttl_seconds=self.seconds)  # renew
        if not held:
            self._on_acquire()
        self._until = now + self.seconds - 1
        return True

    def release(self) -> None:
        """Give the lease up (if held) so that another process may drain at once."""
        if self._until == 0.0:
            return
        self._until = 0.0
        current = self.store.get(NS_LEASE, LEASE_KEY)
        if current is not None and current.get("owner") == self.owner:
            self.store.delete(NS_LEASE, LEASE_KEY)


def _holder_died(lease: Record) -> bool:
    """True when the lease names a process of this host (``host:pid:nonce``) that no longer runs."""
    host_pid, _, _ = str(lease.get("owner", "")).rpartition(":")
    return bool(host_pid) and local_owner_is_dead(host_pid)
