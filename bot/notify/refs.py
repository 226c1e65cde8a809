"""Where each message key's Slack message is: its ``(channel, ts)`` reference, stored and cached."""

from __future__ import annotations

from bot.core.store import Record, Store
from bot.notify.outbox import NS_MESSAGE
from bot.notify.plan import Work


class MessageRefs:
    """References of posted messages; only the lease holder writes them, so its cache stays right."""

    def __init__(self, store: Store, channel: str) -> None:
        self.store = store
        self.channel = channel  # where top-level messages go
        self._cache: dict[str, Record | None] = {}

    def get(self, key: str) -> Record | None:
        if key not in self._cache:
            self._cache[key] = self.store.get(NS_MESSAGE, key)
        return self._cache[key]

    def save(self, key: str, rec: Record) -> None:
        self.store.put(NS_MESSAGE, key, rec)
        self._cache[key] = rec

    def sent_at(self, key: str) -> float | None:
        """Wall time at which the last call for ``key``'s message ended (by any process), if known."""
        ref = self.get(key)
        value = None if ref is None else ref.get("sent_at")
        return float(value) if isinstance(value, int | float) else None

    def forget(self, key: str) -> None:
        """The message is gone from Slack: its next state is posted as a new one."""
        self.store.delete(NS_MESSAGE, key)
        self._cache[key] = None

    def clear(self) -> None:
        self._cache.clear()

    def thread_target(self, work: Work) -> tuple[str, str | None]:
        """(channel, thread_ts) a new post goes to."""
        parent_key = work.newest.get("thread_key")
        parent = self.get(parent_key) if parent_key else None
        if parent is None:
            return self.channel, None
        # A message that itself sits in a thread is not a thread root: reply to its root.
        return str(parent["channel"]), str(parent.get("thread_ts") or parent["ts"])

    def destination(self, work: Work) -> str:
        """The channel a piece of work writes to."""
        if work.kind == "update":
            assert work.key is not None
            ref = self.get(work.key)
            assert ref is not None
            return str(ref["channel"])
        return self.thread_target(work)[0]

    def lane(self, work: Work) -> str:
        """Which Slack thread a post goes to (or the top-level message a create starts)."""
        parent_key = work.newest.get("thread_key")
        parent = self.get(parent_key) if parent_key else None
        if parent is not None:
            return f"thread:{parent['channel']}:{parent.get('thread_ts') or parent['ts']}"
        return f"key:{work.key or parent_key}"
