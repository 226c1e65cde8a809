"""Reading a Web API call's arguments the way Slack does: required fields, JSON fields, flags, content."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from runtimes.slack_local.blocks import block_errors, view_errors, with_generated_ids
from runtimes.slack_local.model import JSON, MAX_METADATA, MAX_TEXT, Blocks, SlackApiFault


def required(args: Mapping[str, Any], name: str) -> str:
    value = args.get(name)
    if value is None or value == "":
        raise SlackApiFault("invalid_arguments", messages=[f"missing required field: {name}"])
    return str(value)


def flag(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def json_arg(args: Mapping[str, Any], name: str) -> Any:
    """Form-encoded calls carry objects as JSON strings; JSON calls carry them as objects."""
    value = args.get(name)
    if value is None:
        raise SlackApiFault("invalid_arguments", messages=[f"missing required field: {name}"])
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise SlackApiFault("invalid_arguments", messages=[f"{name} is not valid JSON: {exc}"]) from None
    return value


def metadata_arg(args: Mapping[str, Any]) -> JSON | None:
    """The ``metadata`` of a post, checked like Slack: ``event_type`` and an ``event_payload`` object."""
    if args.get("metadata") is None:
        return None
    value: Any = args["metadata"]
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise SlackApiFault("invalid_metadata_format") from None
    if not isinstance(value, dict):
        raise SlackApiFault("invalid_metadata_format")
    if not isinstance(value.get("event_type"), str) or not value["event_type"]:
        raise SlackApiFault("invalid_metadata_schema", messages=["metadata.event_type is required"])
    if not isinstance(value.get("event_payload"), dict):
        raise SlackApiFault("invalid_metadata_schema", messages=["metadata.event_payload must be an object"])
    if len(json.dumps(value)) > MAX_METADATA:
        raise SlackApiFault("metadata_too_large")
    return {"event_type": value["event_type"], "event_payload": copy.deepcopy(value["event_payload"])}


def limit_arg(value: Any, *, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise SlackApiFault("invalid_limit") from None
    if limit < 1:
        raise SlackApiFault("invalid_limit")
    return min(limit, 1000)


def ts_arg(args: Mapping[str, Any], name: str, default: float) -> float:
    value = args.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SlackApiFault("invalid_ts_" + name) from None


def in_window(ts: float, oldest: float, latest: float, inclusive: bool) -> bool:
    if inclusive:
        return oldest <= ts <= latest
    return oldest < ts < latest


def content(args: Mapping[str, Any], *, required: bool = True) -> tuple[str, Blocks]:
    """Validated (text, blocks) of a message; Slack wants at least one of them."""
    text = args.get("text") or ""
    if not isinstance(text, str):
        raise SlackApiFault("invalid_arguments", messages=["text must be a string"])
    if len(text) > MAX_TEXT:
        raise SlackApiFault("msg_too_long")
    blocks: Any = args.get("blocks")
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except json.JSONDecodeError:
            raise SlackApiFault("invalid_blocks_format") from None
    blocks = blocks or []
    problems = block_errors(blocks)
    if problems:
        raise SlackApiFault("invalid_blocks", messages=problems)
    if required and not text and not blocks and not args.get("attachments"):
        raise SlackApiFault("no_text")
    return text, with_generated_ids(blocks)


def check_view(view: Any) -> None:
    """Raise ``invalid_arguments`` with Slack's messages when ``view`` is not a valid modal."""
    problems = view_errors(view)
    if problems:
        raise SlackApiFault("invalid_arguments", messages=problems)
