"""Block Kit checks as Slack applies them (``invalid_blocks``), and the ids Slack fills in."""

from __future__ import annotations

import copy
import json
from typing import Any

from runtimes.slack_local.model import JSON, MAX_MESSAGE_BLOCKS, MAX_VIEW_BLOCKS, Blocks, stable_id

BLOCK_TYPES = frozenset(
    {"section", "header", "divider", "context", "actions", "input", "image", "rich_text", "markdown"}
)


def _text_errors(obj: Any, path: str, *, max_len: int, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict):
        return [f"must be a text object [json-pointer:{path}]"]
    errors = []
    kind = obj.get("type")
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if kind not in allowed:
        errors.append(f"must be one of {', '.join(allowed)} [json-pointer:{path}/type]")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        errors.append(f"must be more than 0 characters [json-pointer:{path}/text]")
    elif len(text) > max_len:
        errors.append(f"must be less than {max_len + 1} characters [json-pointer:{path}/text]")
    return errors


def _element_errors(el: Any, path: str, action_ids: set[str]) -> list[str]:
    if not isinstance(el, dict) or not isinstance(el.get("type"), str):
        return [f"must be an element object with a type [json-pointer:{path}]"]
    errors = []
    action_id = el.get("action_id")
    if action_id is not None:
        if not isinstance(action_id, str) or not 0 < len(action_id) <= 255:
            errors.append(f"must be 1 to 255 characters [json-pointer:{path}/action_id]")
        elif action_id in action_ids:
            errors.append(f"duplicate action_id {action_id!r} [json-pointer:{path}/action_id]")
        else:
            action_ids.add(action_id)
    if el["type"] == "button":
        errors += _text_errors(el.get("text"), f"{path}/text", max_len=75, plain_only=True)
        value = el.get("value")
        if value is not None and (not isinstance(value, str) or len(value) > 2000):
            errors.append(f"must be a string of at most 2000 characters [json-pointer:{path}/value]")
        if el.get("style") not in (None, "primary", "danger"):
            errors.append(f"must be primary or danger [json-pointer:{path}/style]")
    return errors


def block_errors(blocks: Any, *, max_blocks: int = MAX_MESSAGE_BLOCKS) -> list[str]:
    """Slack-style error strings for ``blocks`` (empty when valid).

    Covers the limits Slack enforces that a bot can realistically hit; unknown block types
    are rejected as Slack does.
    """
    if not isinstance(blocks, list):
        return ["must be an array [json-pointer:/blocks]"]
    errors: list[str] = []
    if len(blocks) > max_blocks:
        errors.append(f"no more than {max_blocks} items allowed [json-pointer:/blocks]")
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        path = f"/blocks/{i}"
        if not isinstance(block, dict):
            errors.append(f"must be an object [json-pointer:{path}]")
            continue
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            errors.append(f"unsupported type {kind!r} [json-pointer:{path}/type]")
            continue
        bid = block.get("block_id")
        if bid is not None:
            if not isinstance(bid, str) or not 0 < len(bid) <= 255:
                errors.append(f"must be 1 to 255 characters [json-pointer:{path}/block_id]")
            elif bid in block_ids:
                errors.append(f"duplicate block_id {bid!r} [json-pointer:{path}/block_id]")
            else:
                block_ids.add(bid)
        action_ids: set[str] = set()
        if kind == "header":
            errors += _text_errors(block.get("text"), f"{path}/text", max_len=150, plain_only=True)
        elif kind == "section":
            text, fields = block.get("text"), block.get("fields")
            if text is None and not fields:
                errors.append(f"must provide text or fields [json-pointer:{path}]")
            if text is not None:
                errors += _text_errors(text, f"{path}/text", max_len=3000)
            if fields is not None:
                if not isinstance(fields, list) or len(fields) > 10:
                    errors.append(f"must be an array of at most 10 items [json-pointer:{path}/fields]")
                else:
                    for j, f in enumerate(fields):
                        errors += _text_errors(f, f"{path}/fields/{j}", max_len=2000)
            if block.get("accessory") is not None:
                errors += _element_errors(block["accessory"], f"{path}/accessory", action_ids)
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 0 < len(elements) <= 10:
                errors.append(f"must have 1 to 10 elements [json-pointer:{path}/elements]")
            else:
                for j, el in enumerate(elements):
                    if isinstance(el, dict) and el.get("type") == "image":
                        continue
                    errors += _text_errors(el, f"{path}/elements/{j}", max_len=3000)
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 0 < len(elements) <= 25:
                errors.append(f"must have 1 to 25 elements [json-pointer:{path}/elements]")
            else:
                for j, el in enumerate(elements):
                    errors += _element_errors(el, f"{path}/elements/{j}", action_ids)
        elif kind == "input":
            errors += _text_errors(block.get("label"), f"{path}/label", max_len=2000, plain_only=True)
            if block.get("element") is None:
                errors.append(f"must provide an element [json-pointer:{path}/element]")
            else:
                errors += _element_errors(block["element"], f"{path}/element", action_ids)
    return errors


def view_errors(view: Any) -> list[str]:
    if not isinstance(view, dict):
        return ["must be an object [json-pointer:/view]"]
    errors = []
    if view.get("type") != "modal":
        errors.append("must be modal [json-pointer:/view/type]")
    errors += [e.replace("[json-pointer:", "[json-pointer:/view") for e in _title_errors(view)]
    blocks = view.get("blocks")
    errors += [
        e.replace("[json-pointer:", "[json-pointer:/view")
        for e in block_errors(blocks, max_blocks=MAX_VIEW_BLOCKS)
    ]
    has_input = isinstance(blocks, list) and any(
        isinstance(b, dict) and b.get("type") == "input" for b in blocks
    )
    if has_input and view.get("submit") is None:
        errors.append("must provide submit when the view has input blocks [json-pointer:/view/submit]")
    if len(str(view.get("private_metadata", ""))) > 3000:
        errors.append("must be less than 3001 characters [json-pointer:/view/private_metadata]")
    if len(str(view.get("callback_id", ""))) > 255:
        errors.append("must be less than 256 characters [json-pointer:/view/callback_id]")
    return errors


def _title_errors(view: JSON) -> list[str]:
    return _text_errors(view.get("title"), "/title", max_len=24, plain_only=True)


def with_generated_ids(blocks: Blocks) -> Blocks:
    """Copy of ``blocks`` where every block has a ``block_id`` and every element an ``action_id``.

    Slack fills in both when a message omits them, and interaction payloads carry the
    filled-in values; deterministic here so transcripts compare across runs.
    """
    out = copy.deepcopy(blocks)
    for i, block in enumerate(out):
        if "block_id" not in block:
            block["block_id"] = stable_id("", f"{i}:{json.dumps(block, sort_keys=True)}")[:5]
        elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
        elements += [block[k] for k in ("accessory", "element") if isinstance(block.get(k), dict)]
        for j, el in enumerate(elements):
            if isinstance(el, dict) and "action_id" not in el and el.get("type") != "image":
                el["action_id"] = stable_id("", f"{i}.{j}:{json.dumps(el, sort_keys=True)}")[:5]
    return out
