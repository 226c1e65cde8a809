"""Requests as Slack sends them: slash-command forms, interaction payloads, and their signatures."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from bot.users import LocalUser
from runtimes.slack_local import TEAM_ID, LocalSlack, Message
from runtimes.terminal.blocks import JSON, Button

FORM = "application/x-www-form-urlencoded"
APP_ID = "A0MLOPSBOT"
#: Slack's deprecated verification value: a fixed placeholder here, Bolt checks signatures instead.
VERIFICATION = "local-verification-token"


def signed_headers(secret: str, body: str, content_type: str, now: float | None = None) -> dict[str, str]:
    from slack_sdk.signature import SignatureVerifier

    timestamp = str(int(now if now is not None else time.time()))
    signature = str(SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body))
    return {
        "content-type": content_type,
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": signature,
    }


def slash_command(
    slack: LocalSlack, user: LocalUser, channel: str, command: str, text: str, response_url: str
) -> str:
    """The form body of a slash command typed by ``user`` in ``channel``."""
    return urlencode(
        {
            "token": VERIFICATION,
            "team_id": TEAM_ID,
            "team_domain": "local",
            "channel_id": channel,
            "channel_name": slack.channel_name(channel).lstrip("#"),
            "user_id": user.id,
            "user_name": user.name,
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": slack.issue_trigger(user.id),
        }
    )


def interaction_body(payload: JSON) -> str:
    """Interactions arrive form-encoded with the JSON in a ``payload`` field."""
    return urlencode({"payload": json.dumps(payload)})


def _interaction(kind: str, user: LocalUser, **fields: Any) -> JSON:
    """What every interaction payload carries: its type, the workspace, the app and who acted."""
    return {
        "type": kind,
        "team": {"id": TEAM_ID, "domain": "local"},
        "user": {"id": user.id, "username": user.name, "name": user.name, "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": VERIFICATION,
        "is_enterprise_install": False,
        **fields,
    }


def block_actions(slack: LocalSlack, user: LocalUser, msg: Message, button: Button) -> JSON:
    """``user`` clicked ``button`` on ``msg``."""
    action: JSON = {
        "type": "button",
        "action_id": button.action_id,
        "block_id": button.block_id,
        "text": button.element.get("text"),
        "action_ts": f"{time.time():.6f}",
    }
    if button.value is not None:
        action["value"] = button.value
    if button.style is not None:
        action["style"] = button.style
    payload = _interaction(
        "block_actions",
        user,
        container={
            "type": "message",
            "message_ts": msg.ts,
            "channel_id": msg.channel,
            "is_ephemeral": msg.ephemeral_to is not None,
        },
        trigger_id=slack.issue_trigger(user.id),
        enterprise=None,
        channel={"id": msg.channel, "name": slack.channel_name(msg.channel).lstrip("#@")},
        state={"values": {}},
        response_url=slack.response_url(msg.channel, user.id, msg.ts, msg.thread_ts),
        actions=[action],
    )
    if msg.ephemeral_to is None:  # Slack omits the message of an ephemeral container
        payload["message"] = msg.to_api()
    return payload


def view_submission(slack: LocalSlack, user: LocalUser, view: JSON) -> JSON:
    """``user`` submitted ``view`` (its ``state`` already filled in)."""
    return _interaction(
        "view_submission",
        user,
        trigger_id=slack.issue_trigger(user.id),
        view=view,
        response_urls=[],
        enterprise=None,
    )


def view_closed(user: LocalUser, view: JSON) -> JSON:
    """``user`` closed ``view`` without submitting it."""
    return _interaction("view_closed", user, view=view, is_cleared=False)


def json_body(body: Any) -> JSON | None:
    """A listener's response body as JSON, or None when it is empty or not a JSON object."""
    if isinstance(body, dict):
        return body
    if not body:
        return None
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


__all__ = [
    "FORM",
    "block_actions",
    "interaction_body",
    "json_body",
    "signed_headers",
    "slash_command",
    "view_closed",
    "view_submission",
]
