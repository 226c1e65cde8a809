"""A local Slack Web API: the subset mlops-bot calls, served over real HTTP on 127.0.0.1.

The bot talks to it with an ordinary ``slack_sdk.WebClient(base_url=<url>/api/)``, so the
same code path runs against Slack and against this server. It answers with Slack's JSON
shapes and error codes, checks the bot token, checks Block Kit limits the way Slack does
(``invalid_blocks``), keeps a transcript of every message with its update history and of
every call, serves ``response_url`` posts, and can inject faults (429 with ``Retry-After``,
5xx, or any Slack error code) for tests of retry and fail-closed behaviour.

Served methods: ``auth.test``, ``chat.postMessage``, ``chat.update``, ``chat.delete``,
``chat.postEphemeral``, ``conversations.info``, ``conversations.history``,
``conversations.replies``, ``usergroups.list``,
``usergroups.users.list``, ``users.info``, ``views.open``, ``views.update``, ``views.push``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import random
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, urlsplit

from bot.users import DEFAULT_USERS, LocalUser, load_users, user_id

if TYPE_CHECKING:
    from slack_sdk import WebClient

log = logging.getLogger(__name__)

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

_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{6,}")

BLOCK_TYPES = frozenset(
    {"section", "header", "divider", "context", "actions", "input", "image", "rich_text", "markdown"}
)


def stable_id(prefix: str, key: str) -> str:
    """Slack-looking id that stays the same across runs for the same key."""
    return prefix + hashlib.sha256(key.encode()).hexdigest()[:8].upper()


def channel_id(name: str) -> str:
    return stable_id("C", "channel:" + name.lstrip("#"))


def group_id(handle: str) -> str:
    return stable_id("S", "usergroup:" + handle)


# -- transcript ----------------------------------------------------------------------------


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
    revisions, oldest first. ``seq`` is the transcript position of the first post.
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

    @property
    def revision(self) -> int:
        """0 for the original post, n after n updates."""
        return len(self.history)

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
    """One Web API call (or response_url post) as received, and what was answered."""

    method: str
    args: JSON
    status: int
    response: JSON
    at: float

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))


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
class _Fault:
    status: int
    error: str
    retry_after: int | None
    remaining: int


@dataclass
class _ResponseTarget:
    channel: str
    user: str
    message_ts: str | None
    thread_ts: str | None
    created: float
    uses: int = 0


@dataclass
class _Trigger:
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


# -- Block Kit checks ------------------------------------------------------------------------


def _text_errors(obj: Any, path: str, *, max_len: int, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict):
        return [f"must be a text object [json-pointer:{path}]"]
    errors = []
    kind = obj.get("type")
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if kind not in allowed:
        errors.append(f"must be one of {', '.join(allowed)} [json-pointer:{path}/type]")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        errors.append(f"must be more than 0 characters [json-pointer:{path}/text]")
    elif len(text) > max_len:
        errors.append(f"must be less than {max_len + 1} characters [json-pointer:{path}/text]")
    return errors


def _element_errors(el: Any, path: str, action_ids: set[str]) -> list[str]:
    if not isinstance(el, dict) or not isinstance(el.get("type"), str):
        return [f"must be an element object with a type [json-pointer:{path}]"]
    errors = []
    action_id = el.get("action_id")
    if action_id is not None:
        if not isinstance(action_id, str) or not 0 < len(action_id) <= 255:
            errors.append(f"must be 1 to 255 characters [json-pointer:{path}/action_id]")
        elif action_id in action_ids:
            errors.append(f"duplicate action_id {action_id!r} [json-pointer:{path}/action_id]")
        else:
            action_ids.add(action_id)
    if el["type"] == "button":
        errors += _text_errors(el.get("text"), f"{path}/text", max_len=75, plain_only=True)
        value = el.get("value")
        if value is not None and (not isinstance(value, str) or len(value) > 2000):
            errors.append(f"must be a string of at most 2000 characters [json-pointer:{path}/value]")
        if el.get("style") not in (None, "primary", "danger"):
            errors.append(f"must be primary or danger [json-pointer:{path}/style]")
    return errors


def block_errors(blocks: Any, *, max_blocks: int = MAX_MESSAGE_BLOCKS) -> list[str]:
    """Slack-style error strings for ``blocks`` (empty when valid).

    Covers the limits Slack enforces that a bot can realistically hit; unknown block types
    are rejected as Slack does.
    """
    if not isinstance(blocks, list):
        return ["must be an array [json-pointer:/blocks]"]
    errors: list[str] = []
    if len(blocks) > max_blocks:
        errors.append(f"no more than {max_blocks} items allowed [json-pointer:/blocks]")
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        path = f"/blocks/{i}"
        if not isinstance(block, dict):
            errors.append(f"must be an object [json-pointer:{path}]")
            continue
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            errors.append(f"unsupported type {kind!r} [json-pointer:{path}/type]")
            continue
        bid = block.get("block_id")
        if bid is not None:
            if not isinstance(bid, str) or not 0 < len(bid) <= 255:
                errors.append(f"must be 1 to 255 characters [json-pointer:{path}/block_id]")
            elif bid in block_ids:
                errors.append(f"duplicate block_id {bid!r} [json-pointer:{path}/block_id]")
            else:
                block_ids.add(bid)
        action_ids: set[str] = set()
        if kind == "header":
            errors += _text_errors(block.get("text"), f"{path}/text", max_len=150, plain_only=True)
        elif kind == "section":
            text, fields = block.get("text"), block.get("fields")
            if text is None and not fields:
                errors.append(f"must provide text or fields [json-pointer:{path}]")
            if text is not None:
                errors += _text_errors(text, f"{path}/text", max_len=3000)
            if fields is not None:
                if not isinstance(fields, list) or len(fields) > 10:
                    errors.append(f"must be an array of at most 10 items [json-pointer:{path}/fields]")
                else:
                    for j, f in enumerate(fields):
                        errors += _text_errors(f, f"{path}/fields/{j}", max_len=2000)
            if block.get("accessory") is not None:
                errors += _element_errors(block["accessory"], f"{path}/accessory", action_ids)
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 0 < len(elements) <= 10:
                errors.append(f"must have 1 to 10 elements [json-pointer:{path}/elements]")
            else:
                for j, el in enumerate(elements):
                    if isinstance(el, dict) and el.get("type") == "image":
                        continue
                    errors += _text_errors(el, f"{path}/elements/{j}", max_len=3000)
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 0 < len(elements) <= 25:
                errors.append(f"must have 1 to 25 elements [json-pointer:{path}/elements]")
            else:
                for j, el in enumerate(elements):
                    errors += _element_errors(el, f"{path}/elements/{j}", action_ids)
        elif kind == "input":
            errors += _text_errors(block.get("label"), f"{path}/label", max_len=2000, plain_only=True)
            if block.get("element") is None:
                errors.append(f"must provide an element [json-pointer:{path}/element]")
            else:
                errors += _element_errors(block["element"], f"{path}/element", action_ids)
    return errors


def view_errors(view: Any) -> list[str]:
    if not isinstance(view, dict):
        return ["must be an object [json-pointer:/view]"]
    errors = []
    if view.get("type") != "modal":
        errors.append("must be modal [json-pointer:/view/type]")
    errors += [e.replace("[json-pointer:", "[json-pointer:/view") for e in _title_errors(view)]
    blocks = view.get("blocks")
    errors += [
        e.replace("[json-pointer:", "[json-pointer:/view")
        for e in block_errors(blocks, max_blocks=MAX_VIEW_BLOCKS)
    ]
    has_input = isinstance(blocks, list) and any(
        isinstance(b, dict) and b.get("type") == "input" for b in blocks
    )
    if has_input and view.get("submit") is None:
        errors.append("must provide submit when the view has input blocks [json-pointer:/view/submit]")
    if len(str(view.get("private_metadata", ""))) > 3000:
        errors.append("must be less than 3001 characters [json-pointer:/view/private_metadata]")
    if len(str(view.get("callback_id", ""))) > 255:
        errors.append("must be less than 256 characters [json-pointer:/view/callback_id]")
    return errors


def _title_errors(view: JSON) -> list[str]:
    return _text_errors(view.get("title"), "/title", max_len=24, plain_only=True)


# -- the server --------------------------------------------------------------------------------


class LocalSlack:
    """A local Slack workspace: one bot, the local users, their user groups, some channels.

    Thread-safe. Observers run synchronously, in transcript order, under the transcript
    lock: they must be quick and must not block on another thread that calls this object.
    """

    def __init__(
        self,
        users: Iterable[LocalUser] | None = None,
        *,
        home: Path | None = None,
        token: str | None = None,
        channels: Iterable[str] = ("mlops",),
        host: str = "127.0.0.1",
        port: int = 0,
        strict_triggers: bool = False,
    ) -> None:
        if users is None:
            if home is not None:
                users = load_users(home).values()
            else:
                users = [LocalUser(user_id(n), n, tuple(g)) for n, g in DEFAULT_USERS.items()]
        self.users: dict[str, LocalUser] = {u.id: u for u in users}
        self.token = token or "xoxb-local-" + secrets.token_hex(12)
        self.channels: dict[str, str] = {}
        for c in channels:  # a name ("#mlops", "mlops") or a channel id ("C0123ABCD")
            if _CHANNEL_ID.fullmatch(c):
                self.channels[c] = c.lower()
            else:
                self.channels[channel_id(c)] = c.lstrip("#")
        #: when True, views.open accepts only trigger ids issued by :meth:`issue_trigger`
        self.strict_triggers = strict_triggers
        self._host, self._port = host, port
        self._lock = threading.RLock()
        self._idle = threading.Condition(self._lock)
        self._seq = 0
        self._last_ts_us = 0
        self._messages: dict[tuple[str, str], Message] = {}
        self._calls: list[Call] = []
        self._views: dict[str, View] = {}
        self._observers: list[Observer] = []
        self._faults: dict[str, list[_Fault]] = {}
        self._holds: dict[str, threading.Event] = {}
        self._error_rate: tuple[float, int, frozenset[str] | None] = (0.0, 500, None)
        self._rng = random.Random()
        self._responses: dict[str, _ResponseTarget] = {}
        self._triggers: dict[str, _Trigger] = {}
        self._inflight = 0
        self._last_activity = time.monotonic()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> LocalSlack:
        if self._server is not None:
            return self
        server = ThreadingHTTPServer((self._host, self._port), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="local-slack", daemon=True
        )
        self._thread.start()
        log.debug("local Slack API listening on %s", self.url)
        return self

    def close(self) -> None:
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> LocalSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("LocalSlack is not started: call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        """The ``base_url`` to give ``slack_sdk.WebClient``."""
        return self.url + "/api/"

    def web_client(self, **kwargs: Any) -> WebClient:
        """A ``slack_sdk.WebClient`` with this server's URL and bot token."""
        from slack_sdk import WebClient

        return WebClient(token=self.token, base_url=self.api_url, **kwargs)

    # -- workspace -----------------------------------------------------------------------
    def user_by_name(self, name: str) -> LocalUser | None:
        return next((u for u in self.users.values() if u.name == name), None)

    def groups(self) -> dict[str, list[str]]:
        """User group handle -> member ids, in first-seen order."""
        out: dict[str, list[str]] = {}
        for user in self.users.values():
            for handle in user.groups:
                out.setdefault(handle, []).append(user.id)
        return out

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
        raise SlackApiFault("channel_not_found")

    def channel_name(self, cid: str) -> str:
        if cid in self.channels:
            return "#" + self.channels[cid]
        if cid.startswith("D"):
            user = self.users.get("U" + cid[1:])
            return "@" + (user.name if user else cid)
        return cid

    # -- transcript --------------------------------------------------------------------------
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

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def views(self, *, open_only: bool = False) -> list[View]:
        with self._lock:
            return [v for v in self._views.values() if not (open_only and v.closed)]

    def view(self, view_id: str) -> View | None:
        with self._lock:
            return self._views.get(view_id)

    def close_view(self, view_id: str) -> None:
        """Mark a modal closed (the user submitted or dismissed it)."""
        with self._lock:
            view = self._views.get(view_id)
            if view is not None and not view.closed:
                self._views[view_id] = replace(view, closed=True)
                self._emit("view_close", view=self._views[view_id])

    # -- interaction plumbing (what Slack's servers would issue) ---------------------------------
    def issue_trigger(self, user: str) -> str:
        """A trigger_id for ``user``'s interaction, valid 3 seconds and for one ``views.open``."""
        trigger = f"{int(time.time())}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"
        with self._lock:
            self._triggers[trigger] = _Trigger(user, time.monotonic())
        return trigger

    def response_url(
        self, channel: str, user: str, message_ts: str | None = None, thread_ts: str | None = None
    ) -> str:
        """A ``response_url`` for an interaction of ``user`` (on ``message_ts``, for buttons)."""
        key = secrets.token_urlsafe(18)
        with self._lock:
            self._responses[key] = _ResponseTarget(
                self.channel_id(channel), user, message_ts, thread_ts, time.monotonic()
            )
        return f"{self.url}/response/{key}"

    def post_ack(self, channel: str, user: str, body: JSON) -> Message | None:
        """Show an ``ack()`` body of a slash command the way Slack does (ephemeral unless in_channel).

        Returns the message, or None when the body carries nothing to show.
        """
        if not body.get("text") and not body.get("blocks"):
            return None
        text, blocks = _content(body)
        in_channel = body.get("response_type") == "in_channel"
        return self._post(
            self.channel_id(channel), text, blocks, ephemeral_to=None if in_channel else user, via="ack"
        )

    def replace_view(self, view_id: str, view: JSON) -> View:
        """Replace an open modal's content (an ``update`` response_action of a submission)."""
        problems = view_errors(view)
        if problems:
            raise SlackApiFault("invalid_arguments", messages=problems)
        with self._lock:
            record = self._views.get(view_id)
            if record is None or record.closed:
                raise SlackApiFault("not_found")
            stored = self._view_object(record.id, view, root=str(record.view.get("root_view_id", record.id)))
            updated = replace(record, view=stored, history=(*record.history, record.view))
            self._views[record.id] = updated
            self._emit("view_update", view=updated)
            return updated

    def push_view(self, user: str, view: JSON) -> View:
        """Open a modal on top of the current one (a ``push`` response_action of a submission)."""
        problems = view_errors(view)
        if problems:
            raise SlackApiFault("invalid_arguments", messages=problems)
        with self._lock:
            vid = "V" + secrets.token_hex(5).upper()
            record = View(vid, self._view_object(vid, view, root=vid), user, "")
            self._views[vid] = record
            self._emit("view_open", view=record)
            return record

    # -- fault injection -----------------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        error: str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail before they change anything.

        ``status=429`` answers ``ratelimited`` with ``Retry-After``; 5xx answers
        ``internal_error``; ``status=200`` with ``error`` answers a Slack error such as
        ``plan_upgrade_required``. ``method`` is a Web API method or ``response_url``.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        default_error = {429: "ratelimited", 200: "fatal_error"}.get(status, "internal_error")
        fault = _Fault(status, error or default_error, retry_after if status == 429 else None, times)
        with self._lock:
            self._faults.setdefault(method, []).append(fault)

    def set_error_rate(
        self,
        rate: float,
        *,
        status: int = 500,
        methods: Iterable[str] | None = None,
        seed: int | None = None,
    ) -> None:
        """Fail a random ``rate`` fraction of calls (of ``methods``, default all) with ``status``."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be within [0, 1], got {rate}")
        with self._lock:
            self._error_rate = (rate, status, frozenset(methods) if methods is not None else None)
            if seed is not None:
                self._rng.seed(seed)

    def hold(self, *methods: str) -> None:
        """Calls of ``methods`` hang (Slack does not answer) until ``release``; bounded at 60 s."""
        with self._lock:
            for method in methods:
                self._holds.setdefault(method, threading.Event())

    def release(self, *methods: str) -> None:
        with self._lock:
            for method in methods or tuple(self._holds):
                gate = self._holds.pop(method, None)
                if gate is not None:
                    gate.set()

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._error_rate = (0.0, 500, None)

    def _take_fault(self, method: str) -> _Fault | None:
        with self._lock:
            queue = self._faults.get(method)
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.pop(0)
                return fault
            rate, status, methods = self._error_rate
            if rate > 0 and (methods is None or method in methods) and self._rng.random() < rate:
                return _Fault(status, "internal_error", None, 1)
        return None

    # -- settling -----------------------------------------------------------------------------
    def wait_quiet(self, quiet: float = 0.2, timeout: float = 30.0) -> bool:
        """Wait until no request is in flight and nothing happened for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while True:
                now = time.monotonic()
                if self._inflight == 0 and now - self._last_activity >= quiet:
                    return True
                if now >= deadline:
                    return False
                wait = quiet - (now - self._last_activity) if self._inflight == 0 else quiet
                self._idle.wait(max(0.01, min(wait, deadline - now)))

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._inflight > 0

    # -- request handling (called from server threads) ------------------------------------------
    def _enter(self) -> None:
        with self._idle:
            self._inflight += 1
            self._last_activity = time.monotonic()

    def _leave(self) -> None:
        with self._idle:
            self._inflight -= 1
            self._last_activity = time.monotonic()
            self._idle.notify_all()

    def handle_api(
        self, method: str, args: JSON, auth_header: str | None
    ) -> tuple[int, JSON, dict[str, str]]:
        """Answer one Web API call: (HTTP status, JSON body, extra headers)."""
        token = args.pop("token", None)
        if auth_header and auth_header.lower().startswith("bearer "):
            token = auth_header[7:].strip()
        headers: dict[str, str] = {}
        try:
            if not token:
                raise SlackApiFault("not_authed")
            if not secrets.compare_digest(str(token), self.token):
                raise SlackApiFault("invalid_auth")
            with self._lock:
                gate = self._holds.get(method)
            if gate is not None:
                gate.wait(60)
            fault = self._take_fault(method)
            if fault is not None:
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
                raise SlackApiFault(fault.error, fault.status)
            handler = _METHODS.get(method)
            if handler is None:
                raise SlackApiFault("unknown_method", 404)
            status, body = 200, handler(self, args)
        except SlackApiFault as exc:
            status, body = exc.status, {"ok": False, "error": exc.error}
            if exc.messages:
                body["errors"] = exc.messages
                body["response_metadata"] = {"messages": [f"[ERROR] {m}" for m in exc.messages]}
        with self._lock:
            self._calls.append(Call(method, copy.deepcopy(args), status, copy.deepcopy(body), time.time()))
        return status, body, headers

    def handle_response_url(self, key: str, payload: JSON) -> tuple[int, str]:
        """Answer a POST to a ``response_url``: (HTTP status, plain-text body) like Slack."""
        status, answer = 200, "ok"
        try:
            fault = self._take_fault("response_url")
            if fault is not None:
                raise SlackApiFault(fault.error, fault.status if fault.status != 200 else 400)
            self._respond(key, payload)
        except SlackApiFault as exc:
            status, answer = exc.status, exc.error
        with self._lock:
            self._calls.append(
                Call("response_url", copy.deepcopy(payload), status, {"ok": status == 200}, time.time())
            )
        return status, answer

    def _respond(self, key: str, payload: JSON) -> None:
        with self._lock:
            target = self._responses.get(key)
            if target is None or time.monotonic() - target.created > RESPONSE_URL_TTL_SECONDS:
                raise SlackApiFault("expired_url", 404)
            if target.uses >= RESPONSE_URL_USES:
                raise SlackApiFault("used_url", 404)
            target.uses += 1
            text, blocks = _content(payload, required=not payload.get("delete_original"))
            original = self._messages.get((target.channel, target.message_ts)) if target.message_ts else None
            if payload.get("delete_original") and original is not None:
                self._store(replace(original, deleted=True), "delete")
                return
            if payload.get("replace_original") and original is not None and not original.deleted:
                self._revise(original, text, blocks)
                return
            in_channel = payload.get("response_type") == "in_channel"
            thread_ts = payload.get("thread_ts") or target.thread_ts
            self._post(
                target.channel,
                text,
                blocks,
                thread_ts=str(thread_ts) if thread_ts else None,
                ephemeral_to=None if in_channel else target.user,
                via="response_url",
            )

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

    def _store(self, message: Message, kind: EventKind) -> Message:
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
    ) -> Message:
        with self._lock:
            msg = Message(
                metadata=metadata,
                seq=self._seq + 1,
                channel=channel,
                ts=self._next_ts(),
                text=text,
                blocks=copy.deepcopy(blocks),
                thread_ts=thread_ts,
                ephemeral_to=ephemeral_to,
                via=via,
            )
            return self._store(msg, "post")

    def _revise(self, original: Message, text: str, blocks: Blocks) -> Message:
        with self._lock:
            prior = Revision(original.text, original.blocks, time.time())
            msg = replace(
                original, text=text, blocks=copy.deepcopy(blocks), history=(*original.history, prior)
            )
            return self._store(msg, "update")

    # -- Web API methods ------------------------------------------------------------------------
    def _auth_test(self, args: JSON) -> JSON:
        return {
            "ok": True,
            "url": "https://local.slack.invalid/",
            "team": TEAM_NAME,
            "user": "mlops-bot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, args: JSON) -> JSON:
        cid = self.channel_id(_required(args, "channel"))
        text, blocks = _content(args)
        thread_ts = args.get("thread_ts") or None
        with self._lock:
            if thread_ts is not None and (cid, str(thread_ts)) not in self._messages:
                raise SlackApiFault("thread_not_found")
            msg = self._post(
                cid,
                text,
                blocks,
                thread_ts=str(thread_ts) if thread_ts else None,
                metadata=_metadata_arg(args),
            )
        return {"ok": True, "channel": cid, "ts": msg.ts, "message": msg.to_api()}

    def _chat_update(self, args: JSON) -> JSON:
        cid = self.channel_id(_required(args, "channel"))
        ts = _required(args, "ts")
        text, blocks = _content(args)
        with self._lock:
            original = self._messages.get((cid, ts))
            if original is None or original.deleted:
                raise SlackApiFault("message_not_found")
            if original.ephemeral_to is not None:
                raise SlackApiFault("cant_update_message")
            msg = self._revise(original, text, blocks)
        return {"ok": True, "channel": cid, "ts": ts, "text": msg.text, "message": msg.to_api()}

    def _chat_delete(self, args: JSON) -> JSON:
        cid = self.channel_id(_required(args, "channel"))
        ts = _required(args, "ts")
        with self._lock:
            original = self._messages.get((cid, ts))
            if original is None or original.deleted:
                raise SlackApiFault("message_not_found")
            if original.ephemeral_to is not None:
                raise SlackApiFault("cant_delete_message")
            self._store(replace(original, deleted=True), "delete")
        return {"ok": True, "channel": cid, "ts": ts}

    def _chat_post_ephemeral(self, args: JSON) -> JSON:
        cid = self.channel_id(_required(args, "channel"))
        user = _required(args, "user")
        if user not in self.users:
            raise SlackApiFault("user_not_in_channel")
        text, blocks = _content(args)
        thread_ts = args.get("thread_ts") or None
        msg = self._post(
            cid, text, blocks, thread_ts=str(thread_ts) if thread_ts else None, ephemeral_to=user
        )
        return {"ok": True, "message_ts": msg.ts}

    def _conversations_info(self, args: JSON) -> JSON:
        cid = self.channel_id(_required(args, "channel"))
        name = self.channel_name(cid).lstrip("#@")
        is_dm = cid.startswith("D")
        channel: JSON = {
            "id": cid,
            "created": 1700000000,
            "is_archived": False,
            "is_im": is_dm,
            "is_private": is_dm,
            "is_member": True,
        }
        if is_dm:
            channel["user"] = "U" + cid[1:]
        else:
            channel |= {"name": name, "is_channel": True, "name_normalized": name}
        return {"ok": True, "channel": channel}

    def _usergroups_list(self, args: JSON) -> JSON:
        include_users = _flag(args.get("include_users"))
        groups = []
        for handle, members in self.groups().items():
            group: JSON = {
                "id": group_id(handle),
                "team_id": TEAM_ID,
                "is_usergroup": True,
                "name": handle.replace("-", " ").title(),
                "description": "",
                "handle": handle,
                "is_external": False,
                "date_create": 1700000000,
                "date_update": 1700000000,
                "date_delete": 0,
                "auto_type": None,
                "created_by": BOT_USER_ID,
                "user_count": len(members),
            }
            if include_users:
                group["users"] = list(members)
            groups.append(group)
        return {"ok": True, "usergroups": groups}

    def _usergroups_users_list(self, args: JSON) -> JSON:
        gid = _required(args, "usergroup")
        for handle, members in self.groups().items():
            if group_id(handle) == gid:
                return {"ok": True, "users": list(members)}
        raise SlackApiFault("no_such_subteam")

    def _users_info(self, args: JSON) -> JSON:
        uid = _required(args, "user")
        if uid == BOT_USER_ID:
            return {"ok": True, "user": _user_json(BOT_USER_ID, "mlops-bot", is_bot=True)}
        user = self.users.get(uid)
        if user is None:
            raise SlackApiFault("user_not_found")
        return {"ok": True, "user": _user_json(user.id, user.name)}

    def _views_open(self, args: JSON) -> JSON:
        trigger_id = _required(args, "trigger_id")
        view = _json_arg(args, "view")
        problems = view_errors(view)
        if problems:
            raise SlackApiFault("invalid_arguments", messages=problems)
        with self._lock:
            trigger = self._triggers.get(trigger_id)
            if trigger is None and self.strict_triggers:
                raise SlackApiFault("invalid_trigger_id")
            if trigger is not None:
                if trigger.used:
                    raise SlackApiFault("exchanged_trigger_id")
                if time.monotonic() - trigger.issued > TRIGGER_TTL_SECONDS:
                    raise SlackApiFault("expired_trigger_id")
                trigger.used = True
            vid = "V" + secrets.token_hex(5).upper()
            stored = self._view_object(vid, view, root=vid)
            record = View(vid, stored, trigger.user if trigger else None, trigger_id)
            self._views[vid] = record
            self._emit("view_open", view=record)
        return {"ok": True, "view": copy.deepcopy(stored)}

    def _views_update(self, args: JSON) -> JSON:
        view = _json_arg(args, "view")
        problems = view_errors(view)
        if problems:
            raise SlackApiFault("invalid_arguments", messages=problems)
        with self._lock:
            record: View | None = None
            if args.get("view_id"):
                record = self._views.get(str(args["view_id"]))
            elif args.get("external_id"):
                ext = str(args["external_id"])
                record = next((v for v in self._views.values() if v.view.get("external_id") == ext), None)
            else:
                raise SlackApiFault("invalid_arguments", messages=["view_id or external_id is required"])
            if record is None or record.closed:
                raise SlackApiFault("not_found")
            if args.get("hash") and args["hash"] != record.view.get("hash"):
                raise SlackApiFault("hash_conflict")
            updated = self.replace_view(record.id, view)
        return {"ok": True, "view": copy.deepcopy(updated.view)}

    def conversations_read(self, args: JSON, *, replies: bool) -> JSON:
        """``conversations.history`` (newest first) or ``conversations.replies`` (parent first)."""
        channel = args.get("channel")
        if not channel:
            raise SlackApiFault("channel_not_found")
        cid = str(channel)
        if not _CHANNEL_ID.fullmatch(cid) or cid not in self.channels:
            raise SlackApiFault("channel_not_found")  # takes IDs only, of channels that exist
        limit = _limit_arg(args.get("limit"), default=100 if not replies else 1000)
        oldest, latest = _ts_arg(args, "oldest", 0.0), _ts_arg(args, "latest", float("inf"))
        inclusive = _flag(args.get("inclusive"))
        thread_ts = _required(args, "ts") if replies else None
        with self._lock:
            live = [
                m
                for m in self._messages.values()
                if m.channel == cid and not m.deleted and not m.ephemeral_to
            ]
        parent: Message | None = None
        if replies:
            parent = next((m for m in live if m.ts == thread_ts and not m.thread_ts), None)
            if parent is None:
                raise SlackApiFault("thread_not_found")
            chosen = [m for m in live if m.thread_ts == thread_ts]
        else:
            chosen = [m for m in live if not m.thread_ts]
        chosen = [m for m in chosen if _in_window(float(m.ts), oldest, latest, inclusive)]
        chosen.sort(key=lambda m: float(m.ts), reverse=not replies)
        if parent is not None:
            chosen = [parent, *chosen]
        page = chosen[:limit]
        with_meta = _flag(args.get("include_all_metadata"))
        messages = []
        for m in page:
            body = m.to_api()
            if replies:
                body["thread_ts"] = thread_ts
            if with_meta and m.metadata is not None:
                body["metadata"] = copy.deepcopy(m.metadata)
            messages.append(body)
        return {"ok": True, "messages": messages, "has_more": len(chosen) > limit}

    def _view_object(self, vid: str, view: JSON, *, root: str) -> JSON:
        stored = copy.deepcopy(view)
        stored["blocks"] = with_generated_ids(list(view.get("blocks") or []))
        stored.update(
            {
                "id": vid,
                "team_id": TEAM_ID,
                "app_id": APP_ID,
                "bot_id": BOT_ID,
                "root_view_id": root,
                "previous_view_id": None,
                "hash": f"{time.time():.6f}.{secrets.token_hex(4)}",
                "state": {"values": {}},
                "private_metadata": str(view.get("private_metadata", "")),
                "callback_id": str(view.get("callback_id", "")),
                "clear_on_close": bool(view.get("clear_on_close", False)),
                "notify_on_close": bool(view.get("notify_on_close", False)),
            }
        )
        return stored


_METHODS: dict[str, Callable[[LocalSlack, JSON], JSON]] = {
    "auth.test": LocalSlack._auth_test,
    "chat.postMessage": LocalSlack._chat_post_message,
    "chat.update": LocalSlack._chat_update,
    "chat.delete": LocalSlack._chat_delete,
    "chat.postEphemeral": LocalSlack._chat_post_ephemeral,
    "conversations.info": LocalSlack._conversations_info,
    "conversations.history": lambda slack, args: slack.conversations_read(args, replies=False),
    "conversations.replies": lambda slack, args: slack.conversations_read(args, replies=True),
    "usergroups.list": LocalSlack._usergroups_list,
    "usergroups.users.list": LocalSlack._usergroups_users_list,
    "users.info": LocalSlack._users_info,
    "views.open": LocalSlack._views_open,
    "views.push": LocalSlack._views_open,  # a pushed view is recorded like an opened one
    "views.update": LocalSlack._views_update,
}

#: Methods this server implements, for documentation and tests.
SUPPORTED_METHODS: tuple[str, ...] = tuple(sorted(_METHODS))


def _user_json(uid: str, name: str, *, is_bot: bool = False) -> JSON:
    return {
        "id": uid,
        "team_id": TEAM_ID,
        "name": name,
        "real_name": name.title(),
        "deleted": False,
        "is_bot": is_bot,
        "is_admin": False,
        "tz": "UTC",
        "profile": {"real_name": name.title(), "display_name": name, "team": TEAM_ID},
    }


def _required(args: Mapping[str, Any], name: str) -> str:
    value = args.get(name)
    if value is None or value == "":
        raise SlackApiFault("invalid_arguments", messages=[f"missing required field: {name}"])
    return str(value)


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def _json_arg(args: Mapping[str, Any], name: str) -> Any:
    """Form-encoded calls carry objects as JSON strings; JSON calls carry them as objects."""
    value = args.get(name)
    if value is None:
        raise SlackApiFault("invalid_arguments", messages=[f"missing required field: {name}"])
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise SlackApiFault("invalid_arguments", messages=[f"{name} is not valid JSON: {exc}"]) from None
    return value


def _metadata_arg(args: Mapping[str, Any]) -> JSON | None:
    """The ``metadata`` of a post, checked like Slack: ``event_type`` and an ``event_payload`` object."""
    if args.get("metadata") is None:
        return None
    value: Any = args["metadata"]
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise SlackApiFault("invalid_metadata_format") from None
    if not isinstance(value, dict):
        raise SlackApiFault("invalid_metadata_format")
    if not isinstance(value.get("event_type"), str) or not value["event_type"]:
        raise SlackApiFault("invalid_metadata_schema", messages=["metadata.event_type is required"])
    if not isinstance(value.get("event_payload"), dict):
        raise SlackApiFault("invalid_metadata_schema", messages=["metadata.event_payload must be an object"])
    if len(json.dumps(value)) > MAX_METADATA:
        raise SlackApiFault("metadata_too_large")
    return {"event_type": value["event_type"], "event_payload": copy.deepcopy(value["event_payload"])}


def _limit_arg(value: Any, *, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise SlackApiFault("invalid_limit") from None
    if limit < 1:
        raise SlackApiFault("invalid_limit")
    return min(limit, 1000)


def _ts_arg(args: Mapping[str, Any], name: str, default: float) -> float:
    value = args.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SlackApiFault("invalid_ts_" + name) from None


def _in_window(ts: float, oldest: float, latest: float, inclusive: bool) -> bool:
    if inclusive:
        return oldest <= ts <= latest
    return oldest < ts < latest


def _content(args: Mapping[str, Any], *, required: bool = True) -> tuple[str, Blocks]:
    """Validated (text, blocks) of a message; Slack wants at least one of them."""
    text = args.get("text") or ""
    if not isinstance(text, str):
        raise SlackApiFault("invalid_arguments", messages=["text must be a string"])
    if len(text) > MAX_TEXT:
        raise SlackApiFault("msg_too_long")
    blocks: Any = args.get("blocks")
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except json.JSONDecodeError:
            raise SlackApiFault("invalid_blocks_format") from None
    blocks = blocks or []
    problems = block_errors(blocks)
    if problems:
        raise SlackApiFault("invalid_blocks", messages=problems)
    if required and not text and not blocks and not args.get("attachments"):
        raise SlackApiFault("no_text")
    return text, with_generated_ids(blocks)


def with_generated_ids(blocks: Blocks) -> Blocks:
    """Copy of ``blocks`` where every block has a ``block_id`` and every element an ``action_id``.

    Slack fills in both when a message omits them, and interaction payloads carry the
    filled-in values; deterministic here so transcripts compare across runs.
    """
    out = copy.deepcopy(blocks)
    for i, block in enumerate(out):
        if "block_id" not in block:
            block["block_id"] = stable_id("", f"{i}:{json.dumps(block, sort_keys=True)}")[:5]
        elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
        elements += [block[k] for k in ("accessory", "element") if isinstance(block.get(k), dict)]
        for j, el in enumerate(elements):
            if isinstance(el, dict) and "action_id" not in el and el.get("type") != "image":
                el["action_id"] = stable_id("", f"{i}.{j}:{json.dumps(el, sort_keys=True)}")[:5]
    return out


def _handler_for(slack: LocalSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "LocalSlack/1.0"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("local slack: " + format, *args)

        def do_GET(self) -> None:
            self._dispatch()

        def do_POST(self) -> None:
            self._dispatch()

        def _dispatch(self) -> None:
            slack._enter()
            try:
                self._route()
            finally:
                slack._leave()

        def _route(self) -> None:
            parts = urlsplit(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if parts.path.startswith("/api/"):
                method = parts.path[len("/api/") :]
                args: JSON = dict(parse_qsl(parts.query))
                try:
                    args.update(self._body(raw))
                except ValueError:
                    self._send_json(200, {"ok": False, "error": "invalid_json"})
                    return
                status, body, headers = slack.handle_api(method, args, self.headers.get("Authorization"))
                self._send_json(status, body, headers)
            elif parts.path.startswith("/response/") and self.command == "POST":
                try:
                    payload = json.loads(raw or b"{}")
                    if not isinstance(payload, dict):
                        raise ValueError("payload must be an object")
                except ValueError:
                    self._send_text(400, "invalid_payload")
                    return
                status, text = slack.handle_response_url(parts.path[len("/response/") :], payload)
                self._send_text(status, text)
            else:
                self._send_text(404, "not_found")

        def _body(self, raw: bytes) -> JSON:
            if not raw:
                return {}
            ctype = self.headers.get("Content-Type", "")
            if "application/json" in ctype:
                doc = json.loads(raw)
                if not isinstance(doc, dict):
                    raise ValueError("JSON body must be an object")
                return doc
            return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))

        def _send_json(self, status: int, body: JSON, headers: Mapping[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _send_text(self, status: int, text: str) -> None:
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


__all__ = [
    "BOT_USER_ID",
    "SUPPORTED_METHODS",
    "TEAM_ID",
    "Call",
    "LocalSlack",
    "Message",
    "Revision",
    "SlackApiFault",
    "SlackEvent",
    "View",
    "block_errors",
    "channel_id",
    "group_id",
    "view_errors",
]
