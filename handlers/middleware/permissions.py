"""Global Bolt middleware: who is asking, and may they do it right now.

Runs for every slash command, block action and view submission, before any
listener. It resolves the ``Actor`` (roles from Slack user groups, never waiting on Slack for
read-only requests) into
``context["actor"]`` and checks the requested action against the policy at the
moment of the request, whatever the button showed when it was rendered. A denial is
audited, answered with an ephemeral message naming the missing role, and
acknowledged here: ``next()`` is not called and the listener never runs.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.core.models import Action, Actor
from bot.core.policy import OPEN_ACTIONS, allowed
from bot.services import Services
from bot.slack_text import escape
from handlers.middleware.roles import PermissionLookupError, RoleResolver

log = logging.getLogger(__name__)

__all__ = [
    "BUTTON_ACTIONS",
    "REJECT_REASON_BLOCK",
    "VIEW_ACTIONS",
    "VIEW_REJECT",
    "PayloadShape",
    "Requested",
    "actor_name",
    "classify",
    "payload_problem",
    "permission_middleware",
]

#: Button action ids and the action each one performs. Ids not listed are open (no state change).
BUTTON_ACTIONS: Mapping[str, Action] = {
    "release_approve": Action.APPROVE,
    "release_reject": Action.REJECT,
    "release_promote": Action.PROMOTE,
    "release_rollback": Action.ROLLBACK,
    "rollback_confirm": Action.ROLLBACK,
}

VIEW_REJECT = "reject_reason"
REJECT_REASON_BLOCK = "reason"
VIEW_ACTIONS: Mapping[str, Action] = {VIEW_REJECT: Action.REJECT}

_VERSION = re.compile(r"[vV]?([0-9]{1,9})")

Kind = Literal["command", "action", "view"]


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
    return env if isinstance(env, str) and env in ("staging", "production") else None


def _json_object(raw: object) -> Mapping[str, Any]:
    if not isinstance(raw, str) or len(raw) > 3000:
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser allows
        return {}
    return data if isinstance(data, dict) else {}


def classify(body: Mapping[str, Any]) -> Requested | None:
    """What a request asks for. Subcommands are action names; the parser owns argument errors."""
    if isinstance(body.get("command"), str):
        text = body.get("text")
        words = text.split() if isinstance(text, str) else []
        if not words:
            return Requested("command", Action.HELP, "help")
        try:
            action: Action | None = Action(words[0].lower())
        except ValueError:
            action = None
        target = action.value if action else "unknown"
        if len(words) > 1:
            m = _VERSION.fullmatch(words[1])
            target = f"v{int(m.group(1))}" if m else words[1][:64]
        return Requested("command", action, target)
    kind = body.get("type")
    if kind == "block_actions":
        actions = body.get("actions") or [{}]
        first = actions[0] if isinstance(actions[0], dict) else {}
        action_id = str(first.get("action_id", ""))
        value_target = _version_target(_json_object(first.get("value")))
        return Requested("action", BUTTON_ACTIONS.get(action_id), value_target or action_id[:64])
    if kind == "view_submission":
        view = body.get("view") or {}
        callback = str(view.get("callback_id", ""))
        target = _version_target(_json_object(view.get("private_metadata"))) or callback[:64]
        return Requested("view", VIEW_ACTIONS.get(callback), target)
    return None


def _is_str(value: object, *, optional: bool = False) -> bool:
    return isinstance(value, str) or (optional and value is None)


def payload_problem(body: object) -> str | None:
    """What is wrong with the shape of an interaction, or None.

    Bolt's listener matching and argument injection index payloads the way Slack shapes them
    (``body["actions"][0]["action_id"]`` is a string, ...); a signed payload of another shape must
    be refused here rather than fail inside Bolt as a server error.
    """
    if not isinstance(body, Mapping):
        return "the payload is not a JSON object"
    if not all(_is_str(body.get(k), optional=True) for k in ("response_url", "trigger_id", "api_app_id")):
        return "response_url, trigger_id and api_app_id must be strings"
    if body.get("response_url") and not str(body["response_url"]).startswith(("https://", "http://")):
        return "response_url must be an http(s) URL"
    if "command" in body:
        fields = ("command", "text", "user_id", "user_name", "channel_id", "team_id")
        if not all(_is_str(body.get(k), optional=True) for k in fields):
            return "command fields must be strings"
        return None
    kind = body.get("type")
    if kind is None:
        return None
    if not isinstance(kind, str):
        return "type must be a string"
    user = body.get("user")
    if kind in ("block_actions", "view_submission", "view_closed") and not (
        isinstance(user, Mapping) and _is_str(user.get("id"))
    ):
        return "user.id is missing"
    if kind == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions or not all(isinstance(a, Mapping) for a in actions):
            return "actions must be a non-empty list of objects"
        for a in actions:
            if not _is_str(a.get("action_id")) or not all(
                _is_str(a.get(k), optional=True) for k in ("block_id", "value", "type")
            ):
                return "action_id, block_id, value and type must be strings"
        for key in ("channel", "container", "message", "view", "team"):
            if body.get(key) is not None and not isinstance(body.get(key), Mapping):
                return f"{key} must be an object"
    if kind in ("view_submission", "view_closed"):
        view = body.get("view")
        if not isinstance(view, Mapping):
            return "view must be an object"
        if not _is_str(view.get("callback_id")) or not _is_str(view.get("private_metadata"), optional=True):
            return "view.callback_id and view.private_metadata must be strings"
        if view.get("state") is not None and not isinstance(view.get("state"), Mapping):
            return "view.state must be an object"
    return None


class PayloadShape(Middleware):
    """Refuses (400) signed interactions whose shape Slack never sends; runs before every listener.

    A class middleware on purpose: Bolt calls ``process`` directly, whereas a function middleware
    gets its arguments built from the payload, which is what fails on such shapes.
    """

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        problem = payload_problem(req.body)
        if problem is None:
            return next()
        log.info("refused a malformed Slack payload: %s", problem)
        return BoltResponse(status=400, body=f"malformed Slack payload: {problem}")


def actor_name(body: Mapping[str, Any]) -> str:
    if isinstance(body.get("user_name"), str):
        return str(body["user_name"])
    user = body.get("user")
    if isinstance(user, dict):
        for key in ("username", "name"):
            if isinstance(user.get(key), str):
                return str(user[key])
    return ""


def _refuse(
    requested: Requested,
    message: str,
    body: Mapping[str, Any],
    ack: Any,
    respond: Any,
    client: Any,
    user_id: str,
) -> BoltResponse:
    if requested.kind == "command":
        response: BoltResponse = ack(text=message, response_type="ephemeral")
        return response
    if requested.kind == "view":
        response = ack(response_action="errors", errors={REJECT_REASON_BLOCK: message[:2000]})
        return response
    response = ack()
    try:
        if body.get("response_url"):
            respond(text=message, response_type="ephemeral", replace_original=False)
        else:
            channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
            if channel:
                client.chat_postEphemeral(channel=channel, user=user_id, text=message)
    except (SlackApiError, SlackClientError, OSError) as exc:
        log.warning("could not tell %s about a denial: %s", user_id, exc)
    return response


def permission_middleware(services: Services, directory: RoleResolver) -> Callable[..., BoltResponse | None]:
    """The middleware function for ``app.use``; Bolt injects its arguments by name."""

    def check_permissions(
        body: dict[str, Any],
        context: Any,
        ack: Any,
        respond: Any,
        client: Any,
        next_: Callable[[], None],
    ) -> BoltResponse | None:
        requested = classify(body)
        user_id = context.user_id
        if requested is None or not user_id:
            next_()
            return None
        error: PermissionLookupError | None = None
        if requested.action is None or requested.action in OPEN_ACTIONS:
            roles, error = directory.peek(user_id)  # read-only: answer at once with what is known
        else:
            try:
                roles = directory.roles_of(user_id)
            except PermissionLookupError as exc:
                roles, error = frozenset(), exc
        lookup_error = str(error) if error is not None else None
        actor = Actor(id=user_id, name=actor_name(body), roles=roles)
        context["actor"] = actor
        context["permission_error"] = lookup_error
        if requested.action is None or (denial := allowed(actor, requested.action)) is None:
            next_()
            return None
        services.release.deny(actor, requested.action, requested.target)
        message = f":no_entry: {denial.message}"
        if error is not None:
            # the lookup error quotes Slack and the network: outside text
            message = f":no_entry: {escape(error)} " + (
                f"Until that is fixed nobody can {requested.action.value}."
                if error.definitive
                else "Nothing was changed."
            )
        log.info("denied %s %s to %s (%s)", requested.action, requested.target, user_id, message)
        return _refuse(requested, message, body, ack, respond, client, user_id)

    return check_permissions
