"""Block Kit checked as Slack does (``invalid_blocks``) on slack_sdk's models, and the ids Slack fills in.

Each block and element is parsed with ``slack_sdk.models`` and validated there (lengths, item
counts, styles); this module adds only what those models leave out: the message's block count,
unknown block and element types (slack_sdk skips them silently, Slack refuses them), text
object types and empty texts, section field lengths, empty ``actions``/``context`` lists,
duplicate ids, and a modal's required title and submit button.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block, BlockElement
from slack_sdk.models.views import View

from runtimes.slack_local.model import JSON, MAX_MESSAGE_BLOCKS, Blocks, stable_id

#: What a model raises for a shape it cannot even build (a missing required field, a wrong type).
_MALFORMED = (TypeError, KeyError, AttributeError, ValueError)
_MISSING = re.compile(r"missing \d+ required .*?argument: '(\w+)'")
#: Slack's limit on a section field's text, which slack_sdk's SectionBlock does not check.
MAX_FIELD_TEXT = 2000


def _model_error(exc: Exception, obj: JSON, path: str) -> str:
    """Slack-style message for a model's complaint, pointing at the attribute it names."""
    if isinstance(exc, SlackObjectFormationError):
        attr = str(exc).split(" ", 1)[0]
        if attr in obj:
            path += f"/{attr}" + ("/text" if isinstance(obj[attr], dict) and "text" in obj[attr] else "")
        return f"{exc} [json-pointer:{path}]"
    if missing := _MISSING.search(str(exc)):
        return f"missing required field: {missing.group(1)} [json-pointer:{path}/{missing.group(1)}]"
    return f"must be a valid {obj.get('type')} object [json-pointer:{path}]"


def _validated(parse: Any, obj: Any, path: str) -> tuple[bool, list[str]]:
    """(known type, errors): ``obj`` built with slack_sdk's ``parse`` and validated with its nested parts."""
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        return True, [f"must be an object with a type [json-pointer:{path}]"]
    try:
        model = parse(obj)
        if model is None:
            return False, [f"unsupported type {obj['type']!r} [json-pointer:{path}/type]"]
        model.to_dict()  # validate_json() on the object and on every object inside it
    except SlackObjectFormationError as exc:
        return True, [_model_error(exc, obj, path)]
    except _MALFORMED as exc:
        return True, [_model_error(exc, obj, path)]
    return True, []


def _text_errors(obj: Any, path: str, *, plain_only: bool = False, max_len: int | None = None) -> list[str]:
    """Text object type and emptiness (slack_sdk builds any type as mrkdwn and accepts empty text)."""
    if not isinstance(obj, dict):
        return [f"must be a text object [json-pointer:{path}]"]
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    errors = []
    if obj.get("type") not in allowed:
        errors.append(f"must be one of {', '.join(allowed)} [json-pointer:{path}/type]")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        errors.append(f"must be more than 0 characters [json-pointer:{path}/text]")
    elif max_len is not None and len(text) > max_len:
        errors.append(f"must be less than {max_len + 1} characters [json-pointer:{path}/text]")
    return errors


def _elements(block: JSON, path: str) -> list[tuple[Any, str]]:
    """The interactive elements of a block, with their pointers."""
    found: list[tuple[Any, str]] = []
    if block.get("type") == "actions" and isinstance(block.get("elements"), list):
        found += [(el, f"{path}/elements/{j}") for j, el in enumerate(block["elements"])]
    found += [(block[key], f"{path}/{key}") for key in ("accessory", "element") if key in block]
    return found


def _own_checks(block: JSON, path: str) -> list[str]:
    """What Slack refuses and slack_sdk's block models let through."""
    kind = block["type"]
    errors: list[str] = []
    if kind == "header":
        errors += _text_errors(block.get("text"), f"{path}/text", plain_only=True)
    elif kind == "section":
        if block.get("text") is not None:
            errors += _text_errors(block["text"], f"{path}/text")
        for j, field in enumerate(block.get("fields") or []):
            errors += _text_errors(field, f"{path}/fields/{j}", max_len=MAX_FIELD_TEXT)
    elif kind in ("actions", "context"):
        if not block.get("elements"):
            errors.append(f"must have at least 1 element [json-pointer:{path}/elements]")
        elif kind == "context":
            for j, el in enumerate(block["elements"]):
                if not (isinstance(el, dict) and el.get("type") == "image"):
                    errors += _text_errors(el, f"{path}/elements/{j}")
    elif kind == "input":
        errors += _text_errors(block.get("label"), f"{path}/label", plain_only=True)
    for el, el_path in _elements(block, path):
        if isinstance(el, dict) and el.get("type") == "button":
            errors += _text_errors(el.get("text"), f"{el_path}/text", plain_only=True)
    return errors


def _duplicate_ids(block: JSON, path: str, block_ids: set[str]) -> list[str]:
    errors = []
    bid = block.get("block_id")
    if isinstance(bid, str):
        if bid in block_ids:
            errors.append(f"duplicate block_id {bid!r} [json-pointer:{path}/block_id]")
        block_ids.add(bid)
    action_ids: set[str] = set()
    for el, el_path in _elements(block, path):
        aid = el.get("action_id") if isinstance(el, dict) else None
        if isinstance(aid, str):
            if aid in action_ids:
                errors.append(f"duplicate action_id {aid!r} [json-pointer:{el_path}/action_id]")
            action_ids.add(aid)
    return errors


def block_errors(blocks: Any, *, max_blocks: int | None = MAX_MESSAGE_BLOCKS, root: str = "") -> list[str]:
    """Slack-style error strings for ``blocks`` (empty when valid), pointers under ``root``.

    ``max_blocks`` None leaves the count to the caller (a view's model checks its own).
    """
    if not isinstance(blocks, list):
        return [f"must be an array [json-pointer:{root}/blocks]"]
    errors: list[str] = []
    if max_blocks is not None and len(blocks) > max_blocks:
        errors.append(f"no more than {max_blocks} items allowed [json-pointer:{root}/blocks]")
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        path = f"{root}/blocks/{i}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            errors.append(f"must be an object with a type [json-pointer:{path}]")
            continue
        element_errors: list[str] = []
        for el, el_path in _elements(block, path):
            element_errors += _validated(BlockElement.parse, el, el_path)[1]
        known, problems = _validated(Block.parse, block, path)
        if not known:
            errors += problems
            continue
        # a faulty element fails its block's model too: report it once, where it is
        errors += element_errors or problems
        errors += _own_checks(block, path) + _duplicate_ids(block, path, block_ids)
    return errors


def view_errors(view: Any) -> list[str]:
    """Slack-style error strings for a modal given to ``views.open``/``push``/``update``."""
    if not isinstance(view, dict):
        return ["must be an object [json-pointer:/view]"]
    errors = []
    if view.get("type") != "modal":
        errors.append("must be modal [json-pointer:/view/type]")
    errors += _text_errors(view.get("title"), "/view/title", plain_only=True)
    try:
        View(**view).validate_json()  # title, submit and close lengths, block count, metadata, callback_id
    except SlackObjectFormationError as exc:
        errors.append(_model_error(exc, view, "/view"))
    except _MALFORMED as exc:
        errors.append(_model_error(exc, view, "/view"))
    blocks = view.get("blocks")
    errors += block_errors(blocks, max_blocks=None, root="/view")
    listed = blocks if isinstance(blocks, list) else []
    inputs = [b for b in listed if isinstance(b, dict) and b.get("type") == "input"]
    if inputs and view.get("submit") is None:
        errors.append("must provide submit when the view has input blocks [json-pointer:/view/submit]")
    return errors


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
