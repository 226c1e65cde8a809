"""Web API methods that read: ``conversations.*``, ``users.info`` and ``usergroups.*``."""

from __future__ import annotations

import copy
from collections.abc import Callable

from runtimes.slack_local.arguments import flag, in_window, limit_arg, required, ts_arg
from runtimes.slack_local.model import (
    BOT_USER_ID,
    CHANNEL_ID,
    JSON,
    TEAM_ID,
    Message,
    SlackApiFault,
    group_id,
)
from runtimes.slack_local.web_api import WriteApi


class ReadApi(WriteApi):
    """The methods that read channels, users and user groups."""

    def _conversations_info(self, args: JSON) -> JSON:
        cid = self.channel_id(required(args, "channel"))
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

    def conversations_read(self, args: JSON, *, replies: bool) -> JSON:
        """``conversations.history`` (newest first) or ``conversations.replies`` (parent first)."""
        channel = args.get("channel")
        if not channel:
            raise SlackApiFault("channel_not_found")
        cid = str(channel)
        if not CHANNEL_ID.fullmatch(cid) or cid not in self.channels:
            raise SlackApiFault("channel_not_found")  # takes IDs only, of channels that exist
        limit = limit_arg(args.get("limit"), default=100 if not replies else 1000)
        oldest, latest = ts_arg(args, "oldest", 0.0), ts_arg(args, "latest", float("inf"))
        inclusive = flag(args.get("inclusive"))
        thread_ts = required(args, "ts") if replies else None
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
        chosen = [m for m in chosen if in_window(float(m.ts), oldest, latest, inclusive)]
        chosen.sort(key=lambda m: float(m.ts), reverse=not replies)
        if parent is not None:
            chosen = [parent, *chosen]
        page = chosen[:limit]
        with_meta = flag(args.get("include_all_metadata"))
        messages = []
        for m in page:
            body = m.to_api()
            if replies:
                body["thread_ts"] = thread_ts
            if with_meta and m.metadata is not None:
                body["metadata"] = copy.deepcopy(m.metadata)
            messages.append(body)
        return {"ok": True, "messages": messages, "has_more": len(chosen) > limit}

    def _usergroups_list(self, args: JSON) -> JSON:
        include_users = flag(args.get("include_users"))
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
        gid = required(args, "usergroup")
        for handle, members in self.groups().items():
            if group_id(handle) == gid:
                return {"ok": True, "users": list(members)}
        raise SlackApiFault("no_such_subteam")

    def _users_info(self, args: JSON) -> JSON:
        uid = required(args, "user")
        if uid == BOT_USER_ID:
            return {"ok": True, "user": _user_json(BOT_USER_ID, "mlops-bot", is_bot=True)}
        user = self.users.get(uid)
        if user is None:
            raise SlackApiFault("user_not_found")
        return {"ok": True, "user": _user_json(user.id, user.name)}


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


READ_METHODS: dict[str, Callable[[ReadApi, JSON], JSON]] = {
    "conversations.info": ReadApi._conversations_info,
    "conversations.history": lambda slack, args: slack.conversations_read(args, replies=False),
    "conversations.replies": lambda slack, args: slack.conversations_read(args, replies=True),
    "usergroups.list": ReadApi._usergroups_list,
    "usergroups.users.list": ReadApi._usergroups_users_list,
    "users.info": ReadApi._users_info,
}
