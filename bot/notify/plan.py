"""What the outbox asks the worker to do, given the message references known so far.

Entries of one message key coalesce into one piece of work (a create if Slack has no message for the
key yet, else an update); each reply is its own post. Posts keep queue order, and a post whose thread
parent is still queued waits for that parent (``Plan.chase``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from bot.core.store import Record


@dataclass
class Work:
    """One Slack call the worker can make, and the outbox entries it settles."""

    kind: Literal["create", "update", "reply"]
    item: str  # identity for retry bookkeeping: ``k:<key>`` or ``r:<outbox key>``
    entries: list[tuple[str, Record]]  # oldest first; the last one is the state to send
    key: str | None = None  # message key for create/update

    @property
    def newest(self) -> Record:
        return self.entries[-1][1]

    @property
    def method(self) -> Literal["post", "update"]:
        return "update" if self.kind == "update" else "post"


class Plan:
    """What the outbox asks for, given the references known so far."""

    def __init__(self, entries: list[tuple[str, Record]], has_ref: Callable[[str], bool]) -> None:
        self.groups: dict[str, list[tuple[str, Record]]] = {}
        self.posts: list[Work] = []  # queue order
        self.malformed: list[tuple[str, Record, str]] = []
        creating: set[str] = set()
        for okey, entry in entries:
            problem = entry_problem(entry)
            if problem:
                self.malformed.append((okey, entry, problem))
                continue
            if entry["op"] == "reply":
                self.posts.append(Work("reply", f"r:{okey}", [(okey, entry)]))
                continue
            key = str(entry["key"])
            self.groups.setdefault(key, []).append((okey, entry))
            if key not in creating and not has_ref(key):
                creating.add(key)
                self.posts.append(Work("create", f"k:{key}", self.groups[key], key))
        self.creating = creating
        self.updates = [
            Work("update", f"k:{key}", group, key)
            for key, group in self.groups.items()
            if key not in creating
        ]

    def chase(self, work: Work) -> Work:
        """``work``, or the still-queued parent it must wait for."""
        seen = {work.key}
        parent = work.newest.get("thread_key")
        # Follow parents that are queued but not created yet; ``seen`` stops a (silly) cycle.
        while parent and parent in self.creating and parent not in seen:
            seen.add(parent)
            work = next(w for w in self.posts if w.key == parent)
            parent = work.newest.get("thread_key")
        return work


def entry_problem(entry: Record) -> str | None:
    op = entry.get("op")
    if op not in ("upsert", "reply"):
        return f"unknown outbox op {op!r}"
    if op == "upsert" and not (isinstance(entry.get("key"), str) and entry["key"]):
        return "upsert without a message key"
    if op == "reply" and not (isinstance(entry.get("thread_key"), str) and entry["thread_key"]):
        return "reply without a thread key"
    if not isinstance(entry.get("text"), str):
        return "text is not a string"
    if entry.get("blocks") is not None and not isinstance(entry["blocks"], list):
        return "blocks is not a list"
    return None
