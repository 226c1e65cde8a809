"""Shared Block Kit helpers: safe truncation to Slack's limits, escaping, formatting.

Every message is built from ``slack_sdk.models.blocks`` classes, whose ``to_dict``
raises on a limit violation; the helpers here truncate first so that long user
input (reasons, parameters, lineage) shortens a message instead of breaking it.

``escape`` (from ``bot.slack_text``) is the one escaping rule for text from outside
the bot (names, reasons, commit titles, parameters, typed commands): it is applied
once, where that text is put into a message, in ``text`` and in blocks alike. The
only ``<…>`` sequences a message holds are the ones composed here: ``mention``,
``link`` and ``date``, plus the alert's ``<!here>``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.core.models import Action, AuditEntry, Outcome, Result
from bot.slack_text import escape

#: a message: its notification text and its blocks
Message = tuple[str, list[dict[str, Any]]]

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTION_ID = 255
MAX_CONTEXT_ELEMENTS = 10
MAX_FALLBACK_TEXT = 3000
#: Slack refuses a message whose blocks' text adds up past about 12,000 characters
#: (``msg_blocks_too_long``; the figure is not documented: slackapi/bolt-js#2509)
MAX_MESSAGE_TEXT = 12_000

_USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")

OUTCOME_EMOJI = {
    Outcome.DONE: ":white_check_mark:",
    Outcome.NOOP: ":information_source:",
    Outcome.REFUSED: ":no_entry:",
    Outcome.FAILED: ":x:",
    Outcome.ROLLED_BACK: ":rewind:",
}


def truncate(text: str, limit: int) -> str:
    """At most ``limit`` characters, marking the cut with an ellipsis (for text not yet escaped)."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + "…"


def clip(markup: str, limit: int) -> str:
    """``truncate`` for composed text: never leaves half an entity (a raw ``&``) or half a token."""
    if len(markup) <= limit:
        return markup
    cut = markup[: max(limit - 1, 0)]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    start = cut.rfind("<")
    if start != -1 and ">" not in cut[start:]:
        cut = cut[:start]
    return cut + "…"


def quote(text: object) -> str:
    """Outside text as a block quote, every line quoted, so a newline cannot end the quote early."""
    return "\n".join(">" + line for line in escape(text).split("\n"))


def link(url: str | None, label: object) -> str:
    """``<url|label>`` for an http(s) URL, else the label alone; both parts are made inert."""
    if not url or not url.startswith(("https://", "http://")):
        return escape(label)
    # In the URL, "|" would end it early and "<", ">", whitespace would break the token.
    safe = escape(re.sub(r"[\s<>|]", lambda m: f"%{ord(m.group()):02X}", url))
    return f"<{safe}|{escape(label).replace('|', '¦')}>"


def date(moment: datetime | None) -> str:
    """A timestamp each reader sees in their own time zone (the fallback is UTC)."""
    if moment is None:
        return "unknown time"
    fallback = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def mrkdwn(text: str) -> MarkdownTextObject:
    """A mrkdwn text object, verbatim: Slack links and mentions only what the bot wrote as tokens.

    Without ``verbatim`` Slack would auto-link bare URLs and channel names and parse some
    bare mentions inside outside text, which escaping does not touch.
    """
    return MarkdownTextObject(text=text, verbatim=True)


def code(text: str, limit: int = 200) -> str:
    """Inline code span; backticks inside would end it early, so they are replaced."""
    return "`" + clip(escape(text).replace("`", "'"), limit) + "`"


def mention(user_id: str, name: str = "") -> str:
    """``<@U…>`` for a Slack user id; plain text for anything else (CI, the bot, external)."""
    if _USER_ID.fullmatch(user_id):
        return f"<@{user_id}>"
    return escape(name or user_id)


def when(at: datetime | None) -> str:
    if at is None:
        return "—"
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def duration(start: datetime | None, end: datetime | None, now: datetime | None = None) -> str:
    if start is None:
        return ""
    stop = end or now or datetime.now(UTC)
    seconds = max(0, int((stop - start).total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=PlainTextObject(text=clip(text, MAX_HEADER), emoji=True))


def section(text: str, fields: Sequence[str] = ()) -> SectionBlock:
    return SectionBlock(
        text=mrkdwn(clip(text, MAX_SECTION_TEXT)) if text else None,
        fields=[mrkdwn(clip(f, MAX_FIELD_TEXT)) for f in fields[:MAX_FIELDS]] or None,
    )


def context(*texts: str, block_id: str | None = None) -> ContextBlock:
    elements = [mrkdwn(clip(t, MAX_SECTION_TEXT)) for t in texts[:MAX_CONTEXT_ELEMENTS]]
    return ContextBlock(elements=elements, block_id=block_id)


def to_dicts(blocks: Iterable[Block]) -> list[dict[str, Any]]:
    """Serialize (which validates each block) and keep within the 50-block message limit."""
    out = [b.to_dict() for b in blocks]
    if len(out) > MAX_BLOCKS:
        out = [*out[: MAX_BLOCKS - 1], context(f"… {len(out) - MAX_BLOCKS + 1} more not shown").to_dict()]
    return out


def fallback(text: str) -> str:
    """The top-level ``text`` (notifications, screen readers): composed like blocks, escaped the same."""
    return clip(text, MAX_FALLBACK_TEXT)


def result_emoji(result: Result) -> str:
    """The outcome's emoji; a validation that ran but failed its checks is a failure to the reader."""
    if result.action is Action.VALIDATE and result.data.get("passed") is False:
        return OUTCOME_EMOJI[Outcome.FAILED]
    return OUTCOME_EMOJI[result.outcome]


def audit_emoji(entry: AuditEntry) -> str:
    """An audit line's emoji. A recorded validation does not say whether its checks passed
    (its detail does), so it gets a neutral mark rather than a success one."""
    if entry.action is Action.VALIDATE and entry.outcome is Outcome.DONE:
        return ":clipboard:"
    return OUTCOME_EMOJI[entry.outcome]


def result_text(result: Result) -> str:
    """One line for an operation's outcome, as the person who asked sees it, with the command that
    tries again when the core names one (``data["retry"]``: subcommand and arguments)."""
    text = f"{result_emoji(result)} {escape(result.message)}"
    retry = result.data.get("retry")
    if isinstance(retry, str) and retry:
        text += f" To try again, run {code('/mlops ' + retry)}."
    return text


def encode_value(data: dict[str, Any]) -> str:
    """A button value: compact JSON, well under Slack's 2000-character limit."""
    text = json.dumps(data, separators=(",", ":"), sort_keys=True)
    if len(text) > MAX_BUTTON_VALUE:
        raise ValueError(f"button value is {len(text)} characters; Slack allows {MAX_BUTTON_VALUE}")
    return text


def decode_value(value: object) -> dict[str, Any] | None:
    """The JSON object a button carried, or None for anything else (stale, forged, mangled)."""
    if not isinstance(value, str) or len(value) > MAX_BUTTON_VALUE:
        return None
    try:
        data = json.loads(value)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser allows
        return None
    return data if isinstance(data, dict) else None


def positive_int(value: object) -> int | None:
    """A version number from decoded JSON: a positive int (bools and floats are not versions)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10**9:
        return value
    return None
