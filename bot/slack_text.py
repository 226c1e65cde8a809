"""Slack's escaping rule, written once for every module that puts outside text into a Slack message.

Slack treats ``&``, ``<`` and ``>`` as control characters in a message's ``text`` and in every
Block Kit text object (mrkdwn and plain_text): ``<!channel>``, ``<@U…>`` and ``<url|label>`` are
markup. Outside text (names, reasons, error messages, typed commands) has exactly these three
replaced by ``&amp;``, ``&lt;`` and ``&gt;``, once, where it is put into a message; Slack decodes
these three and no other entity, so nothing else is encoded.
"""

from __future__ import annotations

__all__ = ["escape"]


def escape(text: object) -> str:
    """``text`` as Slack shows it literally. Apply it to the outside value, never to composed markup."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
