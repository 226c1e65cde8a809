"""What a Slack request asks for: the release action and its target, before any listener runs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bot.core.models import Action
from handlers.commands.grammar import ROLLOUT_VERBS, subcommand_action, version_number
from handlers.ids import BUTTON_ACTIONS, VIEW_ACTIONS
from ml.platform import ENVIRONMENTS

Kind = Literal["command", "action", "view"]
#: how ``promote vN`` asks to go through a freeze (``handlers.commands.freeze_words`` reads the reason)
BREAK_GLASS_WORDS = ("break-glass", "--break-glass")


@dataclass(frozen=True)
class Requested:
    kind: Kind
    action: Action | None  # None: nothing to check (unknown subcommand, cancel, ...)
    target: str


def _version_target(data: Mapping[str, Any]) -> str | None:
    v = data.get("v", data.get("to"))
    if isinstance(v, int) and not isinstance(v, bool):
        return f"v{v}"
    env = data.get("env")
    return env if isinstance(env, str) and env in ENVIRONMENTS else None


def _json_object(raw: object) -> Mapping[str, Any]:
    if not isinstance(raw, str) or len(raw) > 3000:
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser allows
        return {}
    return data if isinstance(data, dict) else {}


def classify(body: Mapping[str, Any]) -> Requested | None:
    """What a request asks for, read with the command grammar and the button ids (not its arguments)."""
    if isinstance(body.get("command"), str):
        text = body.get("text")
        text = text if isinstance(text, str) else ""
        words = text.split()
        if not words:
            return Requested("command", Action.HELP, "help")
        action = subcommand_action(text)
        if action is Action.PROMOTE and any(w.lower() in BREAK_GLASS_WORDS for w in words[2:]):
            action = Action.BREAK_GLASS  # oncall's role counts in a freeze: the core checks which
        target = action.value if action else "unknown"
        if action in ROLLOUT_VERBS.values():
            target = f"rollout:{words[-1].lower()[:64]}"
        elif len(words) > 1:
            number = version_number(words[1])
            target = f"v{number}" if number is not None else words[1][:64]
        return Requested("command", action, target)
    kind = body.get("type")
    if kind == "block_actions":
        actions = body.get("actions") or [{}]
        first = actions[0] if isinstance(actions[0], dict) else {}
        action_id = str(first.get("action_id", ""))
        value = _json_object(first.get("value"))
        value_target = _version_target(value)
        action = BUTTON_ACTIONS.get(action_id)
        if action is Action.PROMOTE and isinstance(value.get("bg"), str) and value["bg"].strip():
            action = Action.BREAK_GLASS  # the confirmation of a promote through a freeze
        return Requested("action", action, value_target or action_id[:64])
    if kind == "view_submission":
        view = body.get("view") or {}
        callback = str(view.get("callback_id", ""))
        target = _version_target(_json_object(view.get("private_metadata"))) or callback[:64]
        return Requested("view", VIEW_ACTIONS.get(callback), target)
    return None


def actor_name(body: Mapping[str, Any]) -> str:
    if isinstance(body.get("user_name"), str):
        return str(body["user_name"])
    user = body.get("user")
    if isinstance(user, dict):
        for key in ("username", "name"):
            if isinstance(user.get(key), str):
                return str(user[key])
    return ""
