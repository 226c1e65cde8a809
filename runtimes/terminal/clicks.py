"""``:click`` resolution: which button of which message a typed label (and ``vN``) names."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from runtimes.slack_local import Message
from runtimes.terminal.blocks import Button, buttons_of
from runtimes.terminal.errors import ShellError
from runtimes.terminal.markup import emojize

_VERSION_TOKEN = re.compile(r"[vV](\d{1,9})")


def normalize_label(text: str) -> str:
    """Case-, emoji- and punctuation-insensitive form of a label: ``"Reject…"`` -> ``"reject"``."""
    text = emojize(text)
    words = re.sub(r"[^\w]+", " ", text.casefold()).split()
    return " ".join(words)


def _value_versions(value: str | None) -> set[int]:
    if not value:
        return set()
    try:
        data = json.loads(value)
    except ValueError:
        data = None
    found: set[int] = set()
    if isinstance(data, dict):
        for key in ("v", "version"):
            if isinstance(data.get(key), int) and not isinstance(data.get(key), bool):
                found.add(data[key])
    elif isinstance(data, int) and not isinstance(data, bool):
        found.add(data)
    found.update(int(m) for m in _VERSION_TOKEN.findall(value))
    return found


def version_affinity(message: Message, button: Button, version: int) -> int:
    """How surely ``button`` on ``message`` acts on ``version``: 2 certain, 1 likely, 0 no sign."""
    if version in _value_versions(button.value):
        return 2
    if re.search(rf"(?<![\w])v{version}(?![\w])", button.block_id + " " + button.label, re.IGNORECASE):
        return 2
    first = message.text.split(",")[0]
    headers = " ".join(
        str((b.get("text") or {}).get("text", "")) for b in message.blocks if b.get("type") == "header"
    )
    if re.search(rf"(?<![\w])v{version}(?![\w])", headers + " " + first, re.IGNORECASE):
        return 1
    return 0


@dataclass(frozen=True)
class Click:
    message: Message
    button: Button
    rest: str  # text after the button spec (modal input in scripts)


def find_click(messages: Sequence[Message], words: Sequence[str]) -> Click:
    """Resolve ``:click`` arguments against ``messages`` (oldest first, as the viewer sees them).

    Longest label first: ``Promote to production v2 now`` tries the longest word prefix
    that names a button, then an optional ``vN`` selects that version's message, and
    the rest is returned as modal input.
    """
    if not words:
        raise ShellError("usage: :click LABEL [vN] [text]  (or :click N for button N of the newest message)")
    newest_first = [m for m in reversed(messages) if buttons_of(m.blocks)]
    if not newest_first:
        _explain_missing(messages, words)
        raise ShellError("no message with buttons yet")
    if re.fullmatch(r"\d{1,3}", words[0]):
        msg = newest_first[0]
        number = int(words[0])
        btns = buttons_of(msg.blocks)
        if not 1 <= number <= len(btns):
            raise ShellError(f"the newest message with buttons has buttons 1 to {len(btns)}: {_labels(btns)}")
        return Click(msg, btns[number - 1], " ".join(words[1:]))
    for k in range(len(words), 0, -1):
        typed = normalize_label(" ".join(words[:k]).strip("\"'"))
        if not typed:
            continue
        rest = list(words[k:])
        version = None
        if rest and (m := _VERSION_TOKEN.fullmatch(rest[0])):
            version, rest = int(m.group(1)), rest[1:]
        click = _match(newest_first, typed, version)
        if click is not None:
            return Click(click[0], click[1], " ".join(rest))
    _explain_missing(messages, words)
    available = sorted({b.label for m in newest_first for b in buttons_of(m.blocks)})
    raise ShellError(
        f"no button labelled {' '.join(words)!r} on any message you can see; buttons: "
        + ", ".join(repr(a) for a in available)
    )


def _explain_missing(messages: Sequence[Message], words: Sequence[str]) -> None:
    """Raise with the card's own words when it says why the button asked for is not on it.

    A release card without a Promote button carries a context block ``why-vN`` saying why
    (not approved yet, validation not passed, already serving).
    """
    versions = [int(m.group(1)) for w in words if (m := _VERSION_TOKEN.fullmatch(w))]
    label = [normalize_label(w) for w in words if not _VERSION_TOKEN.fullmatch(w)]
    if not versions or not label or not label[0]:
        return
    version, action = versions[0], label[0].split()[0]
    for msg in reversed(messages):
        for block in msg.blocks:
            if block.get("block_id") != f"why-v{version}":
                continue
            why = " ".join(emojize(str(e.get("text", ""))) for e in block.get("elements") or [])
            if action in normalize_label(why).split():
                raise ShellError(f"no {' '.join(words)!r} button on v{version}'s card. {why}")
            return


def _labels(buttons: Sequence[Button]) -> str:
    return ", ".join(f"{b.number} {b.label!r}" for b in buttons)


def _match(newest_first: Sequence[Message], typed: str, version: int | None) -> tuple[Message, Button] | None:
    best: tuple[int, int, Message, Button] | None = None  # (affinity, -age, ...)
    for age, msg in enumerate(newest_first):
        btns = buttons_of(msg.blocks)
        exact = [b for b in btns if normalize_label(b.label) == typed]
        prefix = [b for b in btns if normalize_label(b.label).startswith(typed + " ")]
        candidates = exact or prefix
        if len(candidates) > 1:
            raise ShellError(f"{typed!r} matches several buttons on one message: {_labels(candidates)}")
        if not candidates:
            continue
        button = candidates[0]
        if version is None:
            return msg, button
        affinity = version_affinity(msg, button, version)
        if affinity and (best is None or (affinity, -age) > best[:2]):
            best = (affinity, -age, msg, button)
    return None if best is None else (best[2], best[3])


__all__ = ["Click", "find_click", "normalize_label", "version_affinity"]
