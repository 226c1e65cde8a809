"""Calling a listener function directly, as Bolt would: its context, a payload, and fakes of Ack and Respond.

Only ``ack`` and ``respond`` are fakes (autospecced, so a wrong keyword fails); the services are real
(the local platform on a copy of the release home) and Web API calls go to the local Slack.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from unittest.mock import NonCallableMagicMock, create_autospec
from urllib.parse import urlencode

from slack_bolt import Ack, BoltContext, BoltRequest, Respond

from bot.core.models import Actor, Role
from bot.services import Services
from handlers.context import SERVICES
from handlers.render.common import encode_value
from tests.handlers.conftest import CHANNEL

#: who acts in these tests, with the roles their Slack user groups give them (``tests.handlers.conftest``)
BOB = Actor("UBOB", "bob", frozenset({Role.APPROVER}))
CAROL = Actor("UCAROL", "carol", frozenset({Role.RELEASER, Role.ONCALL}))


def fake_ack() -> Any:
    ack: NonCallableMagicMock = create_autospec(Ack, instance=True)
    return ack


def fake_respond() -> Any:
    respond: NonCallableMagicMock = create_autospec(Respond, instance=True)
    return respond


def context_for(services: Services, actor: Actor) -> BoltContext:
    """The context the middleware leaves: the services, the user and the resolved actor."""
    return BoltContext({SERVICES: services, "user_id": actor.id, "actor": actor})


def click(action_id: str, value: dict[str, Any] | str, actor: Actor) -> dict[str, Any]:
    """A block_actions body for a click on a button carrying ``value`` (a dict is encoded as cards do)."""
    return {
        "type": "block_actions",
        "user": {"id": actor.id, "username": actor.name},
        "channel": {"id": CHANNEL},
        "container": {"type": "message", "message_ts": "1.0", "channel_id": CHANNEL},
        "trigger_id": f"trig-{time.monotonic_ns()}",
        "actions": [
            {"action_id": action_id, "value": value if isinstance(value, str) else encode_value(value)}
        ],
    }


def request_for(body: dict[str, Any]) -> BoltRequest:
    """The request a body arrived in (unsigned: the listeners know it by its trigger_id)."""
    return BoltRequest(body=urlencode({"payload": json.dumps(body)}), headers={})


def press(run: Callable[..., None], body: dict[str, Any], services: Services, actor: Actor) -> Any:
    """Run a button's lazy function as Bolt does after the ack; returns the fake ``respond`` it answered."""
    respond = fake_respond()
    run(body, context_for(services, actor), respond, request_for(body))
    return respond


def only_call(fake: Any) -> dict[str, Any]:
    """The keyword arguments of the one call of ``ack`` or ``respond`` (Bolt passes keywords only)."""
    assert fake.call_count == 1, fake.call_args_list
    assert fake.call_args.args == ()
    kwargs: dict[str, Any] = fake.call_args.kwargs
    return kwargs


def answered(respond: Any) -> str:
    """The one answer given through ``respond``, checked to be ephemeral."""
    kwargs = only_call(respond)
    assert kwargs["response_type"] == "ephemeral"
    text: str = kwargs["text"]
    return text
