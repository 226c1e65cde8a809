"""Refusing signed Slack payloads whose shape Slack never sends, before Bolt indexes into them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

log = logging.getLogger(__name__)


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
