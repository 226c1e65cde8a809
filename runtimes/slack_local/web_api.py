"""Web API methods that write: ``auth.test``, ``chat.*`` and ``views.*``, with Slack's shapes and errors."""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable
from dataclasses import replace

from runtimes.slack_local.arguments import check_view, content, json_arg, metadata_arg, required
from runtimes.slack_local.interactions import Interactions
from runtimes.slack_local.model import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    JSON,
    TEAM_ID,
    TEAM_NAME,
    TRIGGER_TTL_SECONDS,
    SlackApiFault,
    View,
)


class WriteApi(Interactions):
    """The methods that post, change or open something."""

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
        cid = self.channel_id(required(args, "channel"))
        text, blocks = content(args)
        thread_ts = args.get("thread_ts") or None
        with self._lock:
            if thread_ts is not None and (cid, str(thread_ts)) not in self._messages:
                raise SlackApiFault("thread_not_found")
            msg = self._post(
                cid,
                text,
                blocks,
                thread_ts=str(thread_ts) if thread_ts else None,
                metadata=metadata_arg(args),
            )
        return {"ok": True, "channel": cid, "ts": msg.ts, "message": msg.to_api()}

    def _chat_update(self, args: JSON) -> JSON:
        cid = self.channel_id(required(args, "channel"))
        ts = required(args, "ts")
        text, blocks = content(args)
        with self._lock:
            original = self._messages.get((cid, ts))
            if original is None or original.deleted:
                raise SlackApiFault("message_not_found")
            if original.ephemeral_to is not None:
                raise SlackApiFault("cant_update_message")
            msg = self._revise(original, text, blocks)
        return {"ok": True, "channel": cid, "ts": ts, "text": msg.text, "message": msg.to_api()}

    def _chat_delete(self, args: JSON) -> JSON:
        cid = self.channel_id(required(args, "channel"))
        ts = required(args, "ts")
        with self._lock:
            original = self._messages.get((cid, ts))
            if original is None or original.deleted:
                raise SlackApiFault("message_not_found")
            if original.ephemeral_to is not None:
                raise SlackApiFault("cant_delete_message")
            self._store(replace(original, deleted=True), "delete")
        return {"ok": True, "channel": cid, "ts": ts}

    def _chat_post_ephemeral(self, args: JSON) -> JSON:
        cid = self.channel_id(required(args, "channel"))
        user = required(args, "user")
        if user not in self.users:
            raise SlackApiFault("user_not_in_channel")
        text, blocks = content(args)
        thread_ts = args.get("thread_ts") or None
        msg = self._post(
            cid, text, blocks, thread_ts=str(thread_ts) if thread_ts else None, ephemeral_to=user
        )
        return {"ok": True, "message_ts": msg.ts}

    def _views_open(self, args: JSON) -> JSON:
        trigger_id = required(args, "trigger_id")
        view = json_arg(args, "view")
        check_view(view)
        with self._lock:
            trigger = self._triggers.get(trigger_id)
            if trigger is None and self.strict_triggers:
                raise SlackApiFault("invalid_trigger_id")
            if trigger is not None:
                if trigger.used:
                    raise SlackApiFault("exchanged_trigger_id")
                if self.clock.monotonic() - trigger.issued > TRIGGER_TTL_SECONDS:
                    raise SlackApiFault("expired_trigger_id")
                trigger.used = True
            vid = "V" + secrets.token_hex(5).upper()
            stored = self._view_object(vid, view, root=vid)
            record = View(vid, stored, trigger.user if trigger else None, trigger_id)
            self._views[vid] = record
            self._emit("view_open", view=record)
        return {"ok": True, "view": copy.deepcopy(stored)}

    def _views_update(self, args: JSON) -> JSON:
        view = json_arg(args, "view")
        check_view(view)
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


WRITE_METHODS: dict[str, Callable[[WriteApi, JSON], JSON]] = {
    "auth.test": WriteApi._auth_test,
    "chat.postMessage": WriteApi._chat_post_message,
    "chat.update": WriteApi._chat_update,
    "chat.delete": WriteApi._chat_delete,
    "chat.postEphemeral": WriteApi._chat_post_ephemeral,
    "views.open": WriteApi._views_open,
    "views.push": WriteApi._views_open,  # a pushed view is recorded like an opened one
    "views.update": WriteApi._views_update,
}
