"""``/mlops audit``: whole entries, newest first, as many as one Slack message holds.

Ids (run ids and ARNs, versions, targets) are never shortened: people copy them into other tools.
When the entries do not fit Slack's limits (3000 characters a section, 50 blocks and about 12,000
characters a message), the oldest are left out, and the message says how many and how to narrow
the query.
"""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block

from bot.core.models import AuditEntry, AuditFilter
from bot.slack_text import escape

from .common import (
    MAX_BLOCKS,
    MAX_MESSAGE_TEXT,
    MAX_SECTION_TEXT,
    Message,
    audit_emoji,
    code,
    context,
    fallback,
    header,
    mention,
    section,
    to_dicts,
    truncate,
    when,
)
from .freeze import audit_mark

__all__ = ["describe_filter", "render_audit"]

#: a detail is prose (a reason, a message) that may quote ids: long enough for any reason and its message
MAX_DETAIL = 1500
#: blocks and characters kept for the header, the filter line and the note on entries left out
RESERVED_BLOCKS = 3
RESERVED_TEXT = 1000


def describe_filter(where: AuditFilter) -> str:
    """The filter as mrkdwn: ``version v3 · by @bob · action approve``; "" for none."""
    parts = []
    if where.version is not None:
        parts.append(f"version *v{where.version}*")
    if where.actor is not None:
        parts.append(f"by {mention(where.actor, where.actor)}")
    if where.action is not None:
        parts.append(f"action *{where.action.value}*")
    return " · ".join(parts)


def entry_line(e: AuditEntry) -> str:
    """One entry with every id whole, in code spans."""
    target = code(e.target, MAX_SECTION_TEXT)
    if e.version is not None and f"v{e.version}" not in e.target:
        target += f" {code(f'v{e.version}')}"
    detail = f" — {escape(truncate(e.detail, MAX_DETAIL))}" if e.detail else ""
    return (
        f"{audit_emoji(e)} {audit_mark(e)}{when(e.at)} {mention(e.actor_id, e.actor_name)} "
        f"*{e.action.value}* {target} {e.outcome.value}{detail}"
    )


def _sections(lines: Sequence[str], blocks: int, chars: int) -> tuple[list[str], int]:
    """The leading lines that fit in ``blocks`` sections of Slack's size holding ``chars`` in all,
    packed into section texts; and how many lines that is."""
    texts: list[str] = []
    chunk: list[str] = []
    shown = used = 0
    for line in lines:
        if chunk and len("\n".join([*chunk, line])) > MAX_SECTION_TEXT:
            texts.append("\n".join(chunk))
            chunk = []
        if len(texts) == blocks or used + len(line) + 1 > chars:
            break
        chunk.append(line)
        shown += 1
        used += len(line) + 1
    if chunk and len(texts) < blocks:
        texts.append("\n".join(chunk))
    return texts, shown


def render_audit(entries: Sequence[AuditEntry], where: AuditFilter | None = None) -> Message:
    where = where or AuditFilter()
    narrowed = describe_filter(where)
    if not entries:
        text = f"No audit entries match {narrowed}." if narrowed else "The audit log is empty."
        return text, to_dicts([section(text)])
    texts, shown = _sections(
        [entry_line(e) for e in entries], MAX_BLOCKS - RESERVED_BLOCKS, MAX_MESSAGE_TEXT - RESERVED_TEXT
    )
    blocks: list[Block] = [header(f"Audit log (newest {shown})")]
    if narrowed:
        blocks.append(context(f"Only {narrowed}"))
    blocks += [section(t) for t in texts]
    left_out = len(entries) - shown
    if left_out:
        blocks.append(
            context(
                f"{left_out} older {'entry' if left_out == 1 else 'entries'} did not fit in one message. "
                "Ask for fewer or narrow it, e.g. `/mlops audit 20 v3 @name approve`, "
                "or export them with `mlops-bot audit --csv`."
            )
        )
    summary = f"Audit log: {shown} entries" + (f" ({narrowed})" if narrowed else "")
    if left_out:
        summary += f", {left_out} older not shown"
    return fallback(summary), to_dicts(blocks)
