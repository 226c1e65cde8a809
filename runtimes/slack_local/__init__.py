"""A local Slack: one workspace and the subset of the Web API mlops-bot calls, on 127.0.0.1.

The bot talks to it with an ordinary ``slack_sdk.WebClient(base_url=<url>/api/)``, so the same
code path runs against Slack and against this server. It answers with Slack's JSON shapes and
error codes, checks the bot token, checks Block Kit limits the way Slack does (``invalid_blocks``),
keeps a transcript of every message with its update history and a record of every call, serves
``response_url`` posts, and takes faults as settings (queued per method, by message text or at a
seeded random rate: 429 with ``Retry-After``, 5xx with or without a JSON body, Slack error codes,
dropped connections with or without the call taking effect, calls held until released).
The local chat and every test use it; the workspace lives in memory, or (the chat's) also in a file.

Modules: ``model`` (ids, limits, records), ``blocks`` (Block Kit checks), ``arguments`` (reading
a call's arguments), ``workspace`` (users, channels, groups, transcript, waiting), ``interactions``
(triggers, response URLs, modals), ``web_api`` and ``reads`` (the methods), ``faults``,
``saved`` (the workspace kept in a SQLite file), ``local_slack`` (the ``LocalSlack`` class) and
``server`` (HTTP).
"""

from runtimes.slack_local.blocks import block_errors, view_errors, with_generated_ids
from runtimes.slack_local.faults import Fault, Hold
from runtimes.slack_local.local_slack import SUPPORTED_METHODS, LocalSlack, Reply
from runtimes.slack_local.model import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    TEAM_ID,
    Call,
    Message,
    Revision,
    SlackApiFault,
    SlackEvent,
    View,
    channel_id,
    group_id,
)

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_USER_ID",
    "SUPPORTED_METHODS",
    "TEAM_ID",
    "Call",
    "Fault",
    "Hold",
    "LocalSlack",
    "Message",
    "Reply",
    "Revision",
    "SlackApiFault",
    "SlackEvent",
    "View",
    "block_errors",
    "channel_id",
    "group_id",
    "view_errors",
    "with_generated_ids",
]
