"""The local workspace's state: users, channels, user groups and the transcript of messages.

In memory, or also saved to a file (``state_file``) and read back at start: see ``saved``.
"""

from __future__ import annotations

import copy
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from bot.users import DEFAULT_USERS, LocalUser, load_users, user_id
from ml.clock import SYSTEM_CLOCK, Clock
from runtimes.slack_local.model import (
    CHANNEL_ID,
    JSON,
    Blocks,
    EventKind,
    Message,
    Observer,
    ResponseTarget,
    Revision,
    SlackApiFault,
    SlackEvent,
    Trigger,
    Via,
    View,
    channel_id,
)
from runtimes.slack_local.saved import SavedWorkspaceError, WorkspaceFile

log = logging.getLogger("runtimes.slack_local")

T = TypeVar("T")


class Workspace:
    """One bot, the local users, their user groups, some channels, and what was posted there.

    Thread-safe. Observers run synchronously, in transcript order, under the transcript
    lock: they must be quick and must not block on another thread that calls this object.
    With ``state_file``, channels and messages are saved there before each change is announced,
    and the ones saved before are read back now (off by default: tests keep everything in memory).
    """

    def __init__(
        self,
        users: Iterable[LocalUser] | None = None,
        *,
        home: Path | None = None,
        token: str | None = None,
        channels: Iterable[str] | Mapping[str, str] = ("mlops",),
        strict_triggers: bool = False,
        clock: Clock = SYSTEM_CLOCK,
        state_file: Path | None = None,
    ) -> None:
        #: Reads the time for trigger and response_url expiry, so tests can move it on.
        self.clock = clock
        if users is None:
            if home is not None:
                users = load_users(home).values()
            else:
                users = [LocalUser(user_id(n), n, tuple(g)) for n, g in DEFAULT_USERS.items()]
        self.users: dict[str, LocalUser] = {u.id: u for u in users}
        self.token = token or "xoxb-local-" + secrets.token_hex(12)
        self.channels: dict[str, str] = {}
        if isinstance(channels, Mapping):  # name -> id, for tests that need fixed ids
            for name, cid in channels.items():
                self.channels[cid] = name.lstrip("#")
        else:
            for c in channels:  # a name ("#mlops", "mlops") or a channel id ("C0123ABCD")
                if CHANNEL_ID.fullmatch(c):
                    self.channels[c] = c.lower()
                else:
                    self.channels[channel_id(c)] = c.lstrip("#")
        self._lock = threading.RLock()
        #: notified on every change (message, view, recorded call), for :meth:`wait_for`
        self._changed = threading.Condition(self._lock)
        self._changes = 0
        self._seq = 0
        self._numbered = 0  # the last ``#N`` given, when nothing is saved
        self._last_ts_us = 0
        self._messages: dict[tuple[str, str], Message] = {}
        self._views: dict[str, View] = {}
        self._observers: list[Observer] = []
        self._group_members: dict[str, list[str]] = {}
        #: interaction state (see ``interactions``); with strict_triggers, views.open accepts only
        #: trigger ids that ``issue_trigger`` issued
        self.strict_triggers = strict_triggers
        self._responses: dict[str, ResponseTarget] = {}
        self._triggers: dict[str, Trigger] = {}
        self._file: WorkspaceFile | None = None
        if state_file is not None:
            self._restore(WorkspaceFile(state_file))

    def _restore(self, file: WorkspaceFile) -> None:
        """Read back what ``file`` holds, and save this workspace's changes there from now on."""
        try:
            file.add_channels(self.channels)
            saved = file.load()
        except SavedWorkspaceError as exc:
            file.close()
            raise ValueError("; ".join(exc.messages)) from exc
        except BaseException:
            file.close()
            raise
        for cid, name in saved.channels.items():
            self.channels.setdefault(cid, name)
        # positions from earlier processes mix; what counts across them is the order of ``#N``
        for position, message in enumerate(saved.messages, start=1):
            self._messages[(message.channel, message.ts)] = replace(message, seq=position)
        self._seq = len(saved.messages)
        self._file = file

    @property
    def state_file(self) -> Path | None:
        """Where the workspace is saved, or None when it lives in memory only."""
        return None if self._file is None else self._file.path

    def close_state(self) -> None:
        """Stop saving (the file stays as it is); later changes would fail."""
        if self._file is not None:
            self._file.close()

    # -- directory -------------------------------------------------------------------------
    def set_users(self, users: Iterable[LocalUser]) -> None:
        """Replace the users and their groups (the roster was edited)."""
        with self._lock:
            self.users = {u.id: u for u in users}
            self._touch()

    def user_by_name(self, name: str) -> LocalUser | None:
        return next((u for u in self.users.values() if u.name == name), None)

    def groups(self) -> dict[str, list[str]]:
        """User group handle -> member ids, in first-seen order (:meth:`set_group` wins)."""
        out: dict[str, list[str]] = {}
        for user in self.users.values():
            for handle in user.groups:
                out.setdefault(handle, []).append(user.id)
        with self._lock:
            for handle, members in self._group_members.items():
                out[handle] = list(members)
        return out

    def set_group(self, handle: str, members: Iterable[str]) -> None:
        """Set a user group's members (any user ids), as an admin editing it in Slack would."""
        with self._lock:
            self._group_members[handle] = list(members)
            self._touch()

    def channel_id(self, name_or_id: str) -> str:
        """Resolve ``#name``/``name``/id as Slack does; raises SlackApiFault(channel_not_found)."""
        if name_or_id in self.channels:
            return name_or_id
        if name_or_id.startswith("D") and name_or_id[1:] in {u.id[1:] for u in self.users.values()}:
            return name_or_id
        if name_or_id in self.users:  # posting to a user id goes to the DM with the bot
            return "D" + name_or_id[1:]
        cid = channel_id(name_or_id)
        if cid in self.channels:
            return cid
        name = name_or_id.lstrip("#")
        named = next((c for c, n in self.channels.items() if n == name), None)
        if named is not None:
            return named
        raise SlackApiFault("channel_not_found")

    def channel_name(self, cid: str) -> str:
        if cid in self.channels:
            return "#" + self.channels[cid]
        if cid.startswith("D"):
            user = self.users.get("U" + cid[1:])
            return "@" + (user.name if user else cid)
        return cid

    # -- transcript ------------------------------------------------------------------------
    def subscribe(self, observer: Observer) -> Callable[[], None]:
        """Call ``observer`` for each post/update/delete/view change; returns an unsubscribe."""
        with self._lock:
            self._observers.append(observer)

        def unsubscribe() -> None:
            with self._lock:
                if observer in self._observers:
                    self._observers.remove(observer)

        return unsubscribe

    def messages(
        self, channel: str | None = None, *, visible_to: str | None = None, include_deleted: bool = False
    ) -> list[Message]:
        """Messages in posting order (current revision of each)."""
        with self._lock:
            msgs = sorted(self._messages.values(), key=lambda m: m.seq)
        if channel is not None:
            cid = self.channel_id(channel)
            msgs = [m for m in msgs if m.channel == cid]
        if visible_to is not None:
            msgs = [m for m in msgs if m.ephemeral_to in (None, visible_to)]
        if not include_deleted:
            msgs = [m for m in msgs if not m.deleted]
        return msgs

    def message(self, channel: str, ts: str) -> Message | None:
        with self._lock:
            return self._messages.get((self.channel_id(channel), ts))

    def replies(self, channel: str, thread_ts: str) -> list[Message]:
        return [m for m in self.messages(channel) if m.thread_ts == thread_ts and m.ts != thread_ts]

    def public(self) -> list[Message]:
        """Live messages every channel member sees (no ephemeral ones), in posting order."""
        return [m for m in self.messages() if m.ephemeral_to is None]

    def top_level(self) -> list[Message]:
        """Live, non-ephemeral messages outside threads, in posting order."""
        return [m for m in self.public() if m.thread_ts is None]

    def thread(self, ts: str) -> list[Message]:
        """Live, non-ephemeral replies in the thread of ``ts``, in posting order."""
        return [m for m in self.public() if m.thread_ts == ts and m.ts != ts]

    def by_text(self, text: str) -> list[Message]:
        """Live, non-ephemeral messages whose text is, or once was, ``text``."""
        return [m for m in self.public() if text in (m.text, *m.earlier_texts)]

    def delete_message(self, channel: str, ts: str) -> None:
        """Delete a message as a channel member might; raises SlackApiFault(message_not_found)."""
        with self._lock:
            original = self._messages.get((self.channel_id(channel), ts))
            if original is None or original.deleted:
                raise SlackApiFault("message_not_found")
            self._store(replace(original, deleted=True), "delete")

    # -- waiting ---------------------------------------------------------------------------
    def wait_for(self, predicate: Callable[[], T], timeout: float = 20.0, what: str = "condition") -> T:
        """Wait until ``predicate()`` (about this workspace) is truthy and return it; woken by changes.

        The predicate runs without the lock held, so it may look at other objects too; it is
        checked again after each change here. Raises AssertionError after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                seen = self._changes
            value = predicate()
            if value:
                return value
            if not self._wait_change(seen, deadline - time.monotonic()):
                if value := predicate():
                    return value
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")

    def _wait_change(self, seen: int, timeout: float) -> bool:
        """Wait until something changed after change number ``seen``; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._changes != seen, max(timeout, 0.0))

    def _touch(self) -> None:
        with self._changed:
            self._changes += 1
            self._changed.notify_all()

    # -- state changes (under the lock) ------------------------------------------------------
    def _next_ts(self) -> str:
        now_us = int(time.time() * 1_000_000)
        self._last_ts_us = max(now_us, self._last_ts_us + 1)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def _emit(self, kind: EventKind, message: Message | None = None, view: View | None = None) -> None:
        self._seq += 1
        event = SlackEvent(self._seq, kind, message, view)
        for observer in list(self._observers):
            try:
                observer(event)
            except Exception:  # an observer (terminal) must never fail the API call
                log.exception("LocalSlack observer failed on %s", kind)
        self._touch()

    def _store(self, message: Message, kind: EventKind) -> Message:
        if self._file is not None and kind != "post":  # a post is saved as it gets its ts
            self._file.save(message)
        self._messages[(message.channel, message.ts)] = message
        self._emit(kind, message=message)
        return message

    def _post(
        self,
        channel: str,
        text: str,
        blocks: Blocks,
        *,
        thread_ts: str | None = None,
        ephemeral_to: str | None = None,
        via: Via = "api",
        metadata: JSON | None = None,
        files: tuple[JSON, ...] = (),
    ) -> Message:
        with self._lock:
            msg = Message(
                metadata=metadata,
                files=files,
                seq=self._seq + 1,
                channel=channel,
                ts="",
                text=text,
                blocks=copy.deepcopy(blocks),
                thread_ts=thread_ts,
                ephemeral_to=ephemeral_to,
                via=via,
            )
            if self._file is not None:
                msg = self._file.post(msg, time.time_ns() // 1000)
            else:
                self._numbered += 1
                msg = replace(msg, ts=self._next_ts(), number=self._numbered)
            return self._store(msg, "post")

    def _revise(self, original: Message, text: str, blocks: Blocks) -> Message:
        with self._lock:
            prior = Revision(original.text, original.blocks, time.time())
            msg = replace(
                original, text=text, blocks=copy.deepcopy(blocks), history=(*original.history, prior)
            )
            return self._store(msg, "update")
