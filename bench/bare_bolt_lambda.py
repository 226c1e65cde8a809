"""The bare Bolt Lambda app that ``bench.lambda_cold`` measures the bot's Lambda init against.

What the smallest Slack app on Lambda builds at module scope, as Bolt's documentation does: an
``App`` with the signing secret and token from the environment (no ``auth.test`` at construction,
as the bot's runtime), one command with an acknowledgement and a lazy listener, Bolt's
``SlackRequestHandler`` and one boto3 client for its table. It calls nothing: importing it with a
Lambda environment is its whole init.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from slack_bolt import Ack, App
from slack_bolt.adapter.aws_lambda import SlackRequestHandler

app = App(
    token=os.environ["SLACK_BOT_TOKEN"],
    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    process_before_response=True,
    token_verification_enabled=False,
)
table = boto3.client("dynamodb")


def _ack(ack: Ack) -> None:
    ack()


def _work(body: dict[str, Any]) -> None:
    table.get_item(TableName="bare", Key={"pk": {"S": str(body.get("user_id"))}})


app.command("/bare")(ack=_ack, lazy=[_work])
slack_handler = SlackRequestHandler(app)


def handler(event: dict[str, Any], context: Any) -> Any:
    return slack_handler.handle(event, context)
