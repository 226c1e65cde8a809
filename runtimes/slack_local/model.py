"""Slack's identifiers and limits, and the records of the local workspace: messages, views, calls, events."""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

JSON = dict[str, Any]
Blocks = list[JSON]

TEAM_ID = "T0LOCAL01"
TEAM_NAME = "local"
BOT_USER_ID = "U0MLOPSBOT"
BOT_ID = "B0MLOPSBOT"
APP_ID = "A0MLOPSBOT"

#: Slack's documented limits (messages, views, Block Kit).
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT = 40_000
MAX_METADATA = 8_000
TRIGGER_TTL_SECONDS = 3.0
RESPONSE_URL_USES = 5
RESPONSE_URL_TTL_SECONDS = 30 * 60

CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{6,}")


def stable_id(prefix: str, key: str) -> str:
    """Slack-looking id that stays the same across runs for the same key."""
    return prefix + hashlib.sha256(key.encode()).hexdigest()[:8].upper()


def channel_id(name: str) -> str:
    return stable_id("C", "channel:" + name.lstrip("#"))


def group_id(handle: str) -> str:
    return stable_id("S", "usergroup:" + handle)


#: How a message arrived: a Web API call, a response_url post, or the body of an ``ack()``.
Via = Literal["api", "response_url", "ack"]


@dataclass(frozen=True)
class Revision:
    """One state of a message's content (its first post or one update)."""

    text: str
    blocks: Blocks
    at: float


@dataclass(frozen=True)
class Message:
    """A message as a channel member (or, when ephemeral, one user) sees it.

    Immutable: an update stores a new ``Message`` whose ``history`` holds the earlier
    revisions, oldest first. ``seq`` is the transcript position of the first post; ``number`` is
    the message's ``#N`` in the chat, in posting order (kept across restarts when the workspace is saved).
    """

    seq: int
    channel: str
    ts: str
    text: str
    blocks: Blocks
    user: str = BOT_USER_ID
    thread_ts: str | None = None
    ephemeral_to: str | None = None
    via: Via = "api"
    deleted: bool = False
    history: tuple[Revision, ...] = ()
    metadata: JSON | None = None  # returned only to reads with ``include_all_metadata``
    number: int = 0
    files: tuple[JSON, ...] = ()  # a file share's files (``files.completeUploadExternal``)

    @property
    def revision(self) -> int:
        """0 for the original post, n after n updates."""
        return len(self.history)

    @property
    def earlier_texts(self) -> tuple[str, ...]:
        """The texts this message had before its updates, oldest first."""
        return tuple(r.text for r in self.history)

    def visible_to(self, user: str) -> bool:
        return not self.deleted and (self.ephemeral_to is None or self.ephemeral_to == user)

    def to_api(self) -> JSON:
        """The message object the Slack API returns for it."""
        msg: JSON = {
            "type": "message",
            "text": self.text,
            "user": self.user,
            "ts": self.ts,
            "team": TEAM_ID,
            "blocks": copy.deepcopy(self.blocks),
        }
        if self.user == BOT_USER_ID:
            msg["bot_id"] = BOT_ID
            msg["app_id"] = APP_ID
        if self.thread_ts:
            msg["thread_ts"] = self.thread_ts
        if self.history:
            msg["edited"] = {"user": self.user, "ts": self.ts}
        if self.files:
            msg["files"] = copy.deepcopy(list(self.files))
            msg["upload"] = True
        return msg


@dataclass(frozen=True)
class View:
    """A modal opened by ``views.open`` (or pushed), with its update history."""

    id: str
    view: JSON  # the view object as Slack returns it (id, hash, state, ...)
    user: str | None
    trigger_id: str
    closed: bool = False
    history: tuple[JSON, ...] = ()

    @property
    def callback_id(self) -> str:
        return str(self.view.get("callback_id", ""))


@dataclass(frozen=True)
class Call:
    """One Web API call (or response_url post) as received, and what was answered.

    ``at`` is when it arrived (``time.time()``); ``status`` is 0 when the connection was dropped
    without an answer.
    """

    method: str
    args: JSON
    status: int
    response: JSON
    at: float

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        """Slack's error code, ``http_<status>`` for a bare HTTP error, None when the call succeeded."""
        if self.ok:
            return None
        return str(self.response.get("error") or f"http_{self.status}")


EventKind = Literal["post", "update", "delete", "view_open", "view_update", "view_close"]


@dataclass(frozen=True)
class SlackEvent:
    """What observers are told: a message or view appeared or changed."""

    seq: int
    kind: EventKind
    message: Message | None = None
    view: View | None = None


Observer = Callable[[SlackEvent], None]


@dataclass
class ResponseTarget:
    """Where posts to one ``response_url`` go, and how often it was used."""

    channel: str
    user: str
    message_ts: str | None
    thread_ts: str | None
    created: float
    uses: int = 0
    #: For a slash command: the message it produced last (its ack, or a reply through this URL),
    #: which ``replace_original`` replaces.
    produced_ts: str | None = None


@dataclass
class Trigger:
    user: str
    issued: float
    used: bool = False


class SlackApiFault(Exception):
    """A Slack API error to answer with: HTTP status, ``error`` code and optional details."""

    def __init__(self, error: str, status: int = 200, messages: Iterable[str] = ()) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.messages = list(messages)
