"""What Slack's servers issue around an interaction: trigger ids, response URLs, ack bodies, modals."""

from __future__ import annotations

import copy
import secrets
import time
from dataclasses import replace

from runtimes.slack_local.arguments import check_view, content
from runtimes.slack_local.blocks import with_generated_ids
from runtimes.slack_local.model import (
    APP_ID,
    BOT_ID,
    JSON,
    RESPONSE_URL_TTL_SECONDS,
    RESPONSE_URL_USES,
    TEAM_ID,
    Message,
    ResponseTarget,
    SlackApiFault,
    Trigger,
    View,
)
from runtimes.slack_local.workspace import Workspace


class Interactions(Workspace):
    """The workspace plus the interaction plumbing: triggers, response URLs and modals."""

    @property
    def url(self) -> str:
        """Where this workspace is served; the HTTP server defines it."""
        raise NotImplementedError

    # -- modals ----------------------------------------------------------------------------
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

    def replace_view(self, view_id: str, view: JSON) -> View:
        """Replace an open modal's content (an ``update`` response_action of a submission)."""
        check_view(view)
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
        check_view(view)
        with self._lock:
            vid = "V" + secrets.token_hex(5).upper()
            record = View(vid, self._view_object(vid, view, root=vid), user, "")
            self._views[vid] = record
            self._emit("view_open", view=record)
            return record

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

    # -- interaction plumbing (what Slack's servers would issue) -----------------------------
    def issue_trigger(self, user: str) -> str:
        """A trigger_id for ``user``'s interaction, valid 3 seconds and for one ``views.open``."""
        trigger = f"{int(time.time())}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"
        with self._lock:
            self._triggers[trigger] = Trigger(user, self.clock.monotonic())
        return trigger

    def response_url(
        self, channel: str, user: str, message_ts: str | None = None, thread_ts: str | None = None
    ) -> str:
        """A ``response_url`` for an interaction of ``user`` (on ``message_ts``, for buttons)."""
        key = secrets.token_urlsafe(18)
        with self._lock:
            self._responses[key] = ResponseTarget(
                self.channel_id(channel), user, message_ts, thread_ts, self.clock.monotonic()
            )
        return f"{self.url}/response/{key}"

    def post_ack(
        self, channel: str, user: str, body: JSON, response_url: str | None = None
    ) -> Message | None:
        """Show an ``ack()`` body of a slash command the way Slack does (ephemeral unless in_channel).

        Returns the message, or None when the body carries nothing to show. With the command's
        ``response_url``, a later ``replace_original`` through it replaces this message.
        """
        if not body.get("text") and not body.get("blocks"):
            return None
        text, blocks = content(body)
        in_channel = body.get("response_type") == "in_channel"
        msg = self._post(
            self.channel_id(channel), text, blocks, ephemeral_to=None if in_channel else user, via="ack"
        )
        if response_url is not None:
            with self._lock:
                target = self._responses.get(response_url.rsplit("/", 1)[-1])
                if target is not None and target.message_ts is None:
                    target.produced_ts = msg.ts
        return msg

    def respond(self, key: str, payload: JSON) -> None:
        """Carry out a POST to the ``response_url`` ``key``; raises SlackApiFault as Slack answers."""
        with self._lock:
            target = self._responses.get(key)
            if target is None or self.clock.monotonic() - target.created > RESPONSE_URL_TTL_SECONDS:
                raise SlackApiFault("expired_url", 404)
            if target.uses >= RESPONSE_URL_USES:
                raise SlackApiFault("used_url", 404)
            target.uses += 1
            text, blocks = content(payload, required=not payload.get("delete_original"))
            original_ts = target.message_ts or target.produced_ts
            original = self._messages.get((target.channel, original_ts)) if original_ts else None
            if payload.get("delete_original") and original is not None:
                self._store(replace(original, deleted=True), "delete")
                return
            if payload.get("replace_original") and original is not None and not original.deleted:
                self._revise(original, text, blocks)
                return
            in_channel = payload.get("response_type") == "in_channel"
            thread_ts = payload.get("thread_ts") or target.thread_ts
            posted = self._post(
                target.channel,
                text,
                blocks,
                thread_ts=str(thread_ts) if thread_ts else None,
                ephemeral_to=None if in_channel else target.user,
                via="response_url",
            )
            if target.message_ts is None:
                target.produced_ts = posted.ts
