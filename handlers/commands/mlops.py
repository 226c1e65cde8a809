"""The ``/mlops`` slash command.

The ack function answers within milliseconds: usage errors and help go back in the
ack itself; everything else runs in a lazy listener (a thread here, an asynchronous
self-invocation on Lambda). Slow subcommands are acknowledged with a short "working"
line, which their answer replaces (``replace_original`` on the ``response_url``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest, Respond
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.core.policy import REQUIRED_ROLES, actions_for
from bot.services import Services
from handlers.context import actor_of, services_of
from handlers.middleware.form_body import COMMAND_FIELDS
from handlers.render.help import render_help, render_usage_error
from ml.platform import ParameterSpec

from .ops import execute, once, safely
from .parse import Command, Help, UsageError, parse_command

log = logging.getLogger(__name__)

__all__ = ["COMMAND", "mlops_ack", "mlops_run", "register"]

COMMAND = "/mlops"

#: Reads answer quickly; these get a "working" line first because they take seconds to minutes.
_SLOW = {"train", "stop", "approve", "reject", "deploy", "validate", "promote", "rollout"}


def _parameters(services: Services) -> Mapping[str, ParameterSpec] | None:
    try:
        return services.platform.pipeline_parameters()
    except Exception:  # the platform validates again when the run starts
        log.exception("could not read the pipeline parameters; train arguments are checked by the platform")
        return None


def _parse(services: Services, text: str) -> Command | UsageError:
    try:
        is_train = text.lower().split()[:1] == ["train"]
        specs = _parameters(services) if is_train else None
        return parse_command(text, specs, services.settings.parse_rollout)
    except UsageError as exc:
        return exc


def mlops_ack(ack: Ack, command: dict[str, Any], context: BoltContext) -> None:
    """Usage errors and help are the ack itself; slow subcommands get a "working" line first."""
    services = services_of(context)
    text = str(command.get("text") or "")
    parsed = _parse(services, text)
    if isinstance(parsed, UsageError):
        message, blocks = render_usage_error(parsed)
        ack(text=message, blocks=blocks, response_type="ephemeral")
        return
    if isinstance(parsed, Help):
        actor = actor_of(context)
        note = context.get("permission_error") or ""
        message, blocks = render_help(actions_for(actor), actor.roles, _parameters(services), note)
        ack(text=message, blocks=blocks, response_type="ephemeral")
        return
    sub = text.split(maxsplit=1)[0].lower()
    if sub in _SLOW:
        ack(text=f":hourglass_flowing_sand: Working on `{COMMAND} {sub}`…", response_type="ephemeral")
    else:
        ack()


def mlops_run(command: dict[str, Any], context: BoltContext, respond: Respond, request: BoltRequest) -> None:
    """Runs the subcommand and answers the person who asked (help and usage errors were the ack)."""
    if not command and isinstance(fields := context.get(COMMAND_FIELDS), dict):
        command = fields  # Bolt's copy of a command whose text says "payload" lost its fields
    services = services_of(context)
    text = str(command.get("text") or "")
    parsed = _parse(services, text)
    if isinstance(parsed, UsageError | Help):
        return
    if parsed.action in REQUIRED_ROLES and not once(services, request):
        log.info("ignoring a redelivered %s %s", COMMAND, text[:80])
        return
    actor = actor_of(context)
    reply = safely(f"{COMMAND} {text.split(maxsplit=1)[0]}", lambda: execute(services, actor, parsed))
    try:
        # the answer takes the place of the "working" line, so that line never outlives it
        working = text.split(maxsplit=1)[0].lower() in _SLOW
        respond(text=reply.text, blocks=reply.blocks, response_type="ephemeral", replace_original=working)
    except (SlackApiError, SlackClientError, OSError, ValueError) as exc:  # ValueError: no response_url
        log.warning("could not answer %s %s: %s", COMMAND, text[:40], exc)


def register(app: App) -> None:
    app.command(COMMAND)(ack=mlops_ack, lazy=[mlops_run])
