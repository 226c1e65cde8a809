"""Global Bolt middleware: who is asking, and may they do it right now.

Runs for every slash command, block action and view submission, before any
listener. It resolves the ``Actor`` (roles from Slack user groups, never waiting on Slack for
read-only requests) into
``context["actor"]`` and checks the requested action (``requested``) against the policy at the
moment of the request, whatever the button showed when it was rendered. A denial is
audited, answered with an ephemeral message naming the missing role, and
acknowledged here: ``next()`` is not called and the listener never runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt import BoltResponse
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.core.models import Actor
from bot.core.policy import OPEN_ACTIONS, allowed
from bot.services import Services
from bot.slack_text import escape
from handlers.ids import BUTTON_ACTIONS, REJECT_REASON_BLOCK, VIEW_ACTIONS, VIEW_REJECT
from handlers.middleware.payload_shape import PayloadShape, payload_problem
from handlers.middleware.requested import Requested, actor_name, classify
from handlers.middleware.roles import GroupResolver, PermissionLookupError, RoleResolver

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
        groups = directory.groups_of(user_id) if isinstance(directory, GroupResolver) else frozenset()
        actor = Actor(id=user_id, name=actor_name(body), roles=roles, groups=groups)
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
