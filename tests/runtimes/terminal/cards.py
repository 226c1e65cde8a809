"""Release cards and messages shaped like the bot's, for the terminal chat's tests."""

from __future__ import annotations

import io
import json
from typing import Any

from rich.console import RenderableType

from runtimes.slack_local import Message
from runtimes.terminal import make_console


def card(version: int, *, pending: bool = True, promotable: bool = False) -> list[dict[str, Any]]:
    """A release card shaped like the bot's: header, fields, context, buttons carrying the version."""
    value = json.dumps({"v": version})
    buttons = []
    if pending:
        buttons += [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": f"Approve v{version}"},
                "action_id": "release_approve",
                "value": value,
                "style": "primary",
            },
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Reject…"},
                "action_id": "release_reject",
                "value": value,
                "style": "danger",
            },
        ]
    if promotable:
        buttons.append(
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Promote to production"},
                "action_id": "release_promote",
                "value": value,
                "confirm": {
                    "title": {"type": "plain_text", "text": "Promote to production?"},
                    "text": {"type": "mrkdwn", "text": f"Serve *v{version}* in production."},
                    "confirm": {"type": "plain_text", "text": "Promote"},
                    "deny": {"type": "plain_text", "text": "Cancel"},
                },
            }
        )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Model v{version} · mlops-xgboost"}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": "*Accuracy*\n0.872 (+0.004 vs v1)"},
                {"type": "mrkdwn", "text": "*F1*\n0.712"},
                {"type": "mrkdwn", "text": "*AUC*\n0.928"},
            ],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Trained by <@UALICE>"}]},
        {"type": "divider"},
    ]
    if buttons:
        blocks.append({"type": "actions", "block_id": f"card-v{version}", "elements": buttons})
    return blocks


def message(
    seq: int, blocks: list[dict[str, Any]], text: str = "", ephemeral_to: str | None = None
) -> Message:
    return Message(
        seq=seq, channel="C1", ts=f"1700000000.{seq:06d}", text=text, blocks=blocks, ephemeral_to=ephemeral_to
    )


def plain(renderable: RenderableType, width: int = 100) -> str:
    """What ``renderable`` prints on a pipe: plain text, trailing spaces dropped."""
    out = io.StringIO()
    make_console(out, color=False, width=width).print(renderable)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines())


def colored(renderable: RenderableType, width: int = 100) -> str:
    """What ``renderable`` prints on a color terminal."""
    out = io.StringIO()
    make_console(out, color=True, width=width).print(renderable)
    return out.getvalue()
