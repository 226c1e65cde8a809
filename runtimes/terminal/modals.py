"""Modal inputs: the fields of a view, typed answers parsed, and the ``state.values`` Slack submits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from runtimes.terminal.blocks import JSON
from runtimes.terminal.clicks import normalize_label
from runtimes.terminal.errors import ShellError
from runtimes.terminal.markup import text_object


@dataclass(frozen=True)
class InputField:
    """One input block of a modal, as ``:submit`` and the prompt fill it in."""

    block_id: str
    action_id: str
    label: str
    kind: str
    optional: bool
    element: JSON
    options: tuple[JSON, ...] = ()

    def names(self) -> set[str]:
        """What ``:submit`` accepts as this field's key."""
        label = normalize_label(self.label).replace(" ", "_")
        return {self.block_id.casefold(), self.action_id.casefold(), label}


def input_fields(view: JSON) -> list[InputField]:
    fields = []
    for block in view.get("blocks") or []:
        if block.get("type") != "input" or not isinstance(block.get("element"), dict):
            continue
        el = block["element"]
        options = tuple(el.get("options") or []) + tuple(
            o for g in el.get("option_groups") or [] for o in g.get("options") or []
        )
        fields.append(
            InputField(
                block_id=str(block.get("block_id", "")),
                action_id=str(el.get("action_id", "")),
                label=text_object(block.get("label")).plain,
                kind=str(el.get("type", "")),
                optional=bool(block.get("optional", False)),
                element=el,
                options=options,
            )
        )
    return fields


def _option(field_: InputField, answer: str) -> JSON:
    wanted = answer.strip()
    for i, opt in enumerate(field_.options, start=1):
        label = str((opt.get("text") or {}).get("text", ""))
        if wanted in (str(opt.get("value")), str(i)) or normalize_label(label) == normalize_label(wanted):
            return dict(opt)
    choices = ", ".join(str((o.get("text") or {}).get("text", o.get("value"))) for o in field_.options)
    raise ShellError(f"{field_.label!r} has no option {answer!r}; choose one of: {choices}")


def field_state(field_: InputField, answer: str | None) -> JSON:
    """The ``state.values`` entry Slack sends for one input, from the typed answer."""
    el = field_.element
    kind = field_.kind
    if kind in ("static_select", "radio_buttons", "external_select"):
        if answer is None or not answer.strip():
            initial = el.get("initial_option")
            return {"type": kind, "selected_option": initial}
        return {"type": kind, "selected_option": _option(field_, answer)}
    if kind == "checkboxes":
        if answer is None:
            return {"type": kind, "selected_options": list(el.get("initial_options") or [])}
        picked = [_option(field_, a) for a in answer.split(",") if a.strip()]
        return {"type": kind, "selected_options": picked}
    if kind in ("users_select", "conversations_select", "channels_select"):
        key = {"users_select": "selected_user"}.get(kind, "selected_conversation")
        return {"type": kind, key: (answer or None)}
    value = answer if answer is not None else el.get("initial_value")
    if kind == "number_input" and value not in (None, ""):
        try:
            float(str(value))
        except ValueError:
            raise ShellError(f"{field_.label!r} needs a number, got {value!r}") from None
    return {"type": kind or "plain_text_input", "value": value if value not in ("", None) else None}


def _is_empty(state: JSON) -> bool:
    return all(state.get(k) in (None, [], "") for k in ("value", "selected_option", "selected_options"))


def build_state(view: JSON, answers: Mapping[str, str]) -> JSON:
    """``view.state`` for a submission; ``answers`` maps a field's block_id to the typed text."""
    values: JSON = {}
    missing = []
    for f in input_fields(view):
        state = field_state(f, answers.get(f.block_id))
        if not f.optional and _is_empty(state):
            missing.append(f.label or f.block_id)
        values.setdefault(f.block_id, {})[f.action_id] = state
    if missing:
        raise ShellError("required field(s) left empty: " + ", ".join(repr(m) for m in missing))
    return {"values": values}


def parse_answers(view: JSON, text: str) -> dict[str, str]:
    """``key=value ...`` (key: block_id, action_id or label) or plain text for the first field."""
    fields = input_fields(view)
    if not fields:
        return {}
    by_key = {k: f for f in fields for k in f.names()}
    answers: dict[str, str] = {}
    current: str | None = None
    words = text.split()
    if not words:
        return answers
    first_key = words[0].split("=", 1)[0].casefold() if "=" in words[0] else None
    if first_key is None or first_key not in by_key:
        if first_key is not None and len(fields) > 1:
            keys = sorted({f.block_id for f in fields})
            raise ShellError(f"unknown field {first_key!r}; fields: {', '.join(keys)}")
        if first_key is None or len(fields) == 1:
            answers[fields[0].block_id] = text.strip()
            return answers
    for word in words:
        key, sep, value = word.partition("=")
        if sep and key.casefold() in by_key:
            current = by_key[key.casefold()].block_id
            answers[current] = value
        elif current is not None:
            answers[current] += " " + word
    return answers


__all__ = ["InputField", "build_state", "field_state", "input_fields", "parse_answers"]
