"""The Slack request edge: what every runtime checks before Bolt sees a request.

Bolt (and slack_sdk under it) index a request the way Slack shapes it: ``int()`` of the timestamp
header before the signature is checked, ``body["view"]["type"]`` while building a listener's
arguments, and so on. A request of another shape would fail inside Bolt as a server error, so it
is refused here: 400 when it is signed (it came from Slack's app, malformed), 401 otherwise.
``x-slack-bolt-lazy-only`` makes Bolt skip the acknowledgement half of a listener: only the
Lambda runtime's own re-invocation may carry it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_bolt.request import payload_utils
from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier

from handlers.middleware.payload_shape import payload_problem

log = logging.getLogger(__name__)

__all__ = ["LAZY_HEADER", "MALFORMED_BODY", "Refusal", "SlackEdge", "header", "replay_key"]

LAZY_HEADER = "x-slack-bolt-lazy-only"
TIMESTAMP_HEADER = "x-slack-request-timestamp"
SIGNATURE_HEADER = "x-slack-signature"
#: Whole seconds since the epoch, ASCII digits only (``int()`` also accepts " 12", "1_2", "١٢").
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=([0-9a-f]{64})")
#: What Bolt's request parsing and argument building raise on a body Slack never sends.
MALFORMED_BODY = (ValueError, RecursionError, AttributeError, TypeError, KeyError, IndexError)
#: Bolt builds every one of these for each middleware and listener call.
_EXTRACTORS = (
    payload_utils.to_options,
    payload_utils.to_shortcut,
    payload_utils.to_action,
    payload_utils.to_view,
    payload_utils.to_command,
    payload_utils.to_event,
    payload_utils.to_message,
    payload_utils.to_step,
)


@dataclass(frozen=True)
class Refusal:
    status: int
    text: str


def header(headers: Mapping[str, Any], name: str) -> str | None:
    """The first value of header ``name`` (any case; values may be lists, as Bolt keeps them)."""
    for key, value in headers.items():
        if str(key).lower() == name:
            if isinstance(value, str):
                return value
            if isinstance(value, Sequence) and value and isinstance(value[0], str):
                return value[0]
            return None
    return None


def replay_key(headers: Mapping[str, Any]) -> str | None:
    """``<timestamp>:<signature>`` of a signed request: one key per request Slack signed."""
    timestamp, signature = header(headers, TIMESTAMP_HEADER), header(headers, SIGNATURE_HEADER)
    if timestamp is None or signature is None or not _TIMESTAMP.fullmatch(timestamp):
        return None
    match = _SIGNATURE.fullmatch(signature)
    return f"{timestamp}:{match.group(1)}" if match else None


def shape_problem(body: object) -> str | None:
    """What in a parsed Slack body Bolt could not handle, or None."""
    problem = payload_problem(body)
    if problem is not None or not isinstance(body, Mapping):
        return problem
    if body.get("type") in ("view_submission", "view_closed"):
        view = body.get("view")
        if isinstance(view, Mapping) and not isinstance(view.get("type"), str):
            return "view.type must be a string"
    if body.get("type") == "event_callback" and "event" in body:
        event = body.get("event")
        if not isinstance(event, Mapping) or not isinstance(event.get("type"), str):
            return "event must be an object with a string type"
    for extract in _EXTRACTORS:
        try:
            extract(dict(body))
        except MALFORMED_BODY as exc:
            return f"{extract.__name__.removeprefix('to_')} fields are malformed ({type(exc).__name__})"
    return None


class SlackEdge:
    """Checks one Slack request (raw body and headers) before it is dispatched to Bolt."""

    def __init__(self, signing_secret: str) -> None:
        self._verifier = SignatureVerifier(signing_secret)

    def check(self, body: str, headers: Mapping[str, Any], *, lazy_allowed: bool = False) -> Refusal | None:
        """None if Bolt may have the request; otherwise the answer, which names the problem."""
        return self.inspect(body, headers, lazy_allowed=lazy_allowed)[0]

    def inspect(
        self, body: str, headers: Mapping[str, Any], *, lazy_allowed: bool = False
    ) -> tuple[Refusal | None, object]:
        """``check``'s answer, and the body as Bolt parses it (None if it was not parsed): a caller
        that wants to know what the request is need not parse the body once more."""
        if header(headers, LAZY_HEADER) is not None and not lazy_allowed:
            return Refusal(400, f"{LAZY_HEADER} is not accepted from outside"), None
        timestamp = header(headers, TIMESTAMP_HEADER)
        if timestamp is not None and not _TIMESTAMP.fullmatch(timestamp.strip()):
            return Refusal(400, f"{TIMESTAMP_HEADER} must be whole seconds since the epoch"), None
        parsed: object = None
        try:
            parsed = parse_body(body, header(headers, "content-type"))
        except MALFORMED_BODY as exc:
            problem: str | None = f"the body is not a Slack payload ({type(exc).__name__})"
        else:
            problem = shape_problem(parsed)
        if problem is None:
            return None, parsed
        if timestamp is None or not self._signed(body, timestamp, headers):
            return Refusal(401, "invalid request"), parsed  # unsigned: say nothing about its content
        log.info("refused a malformed Slack request: %s", problem)
        return Refusal(400, f"malformed Slack payload: {problem}"), parsed

    def _signed(self, body: str, timestamp: str, headers: Mapping[str, Any]) -> bool:
        signature = header(headers, SIGNATURE_HEADER)
        return signature is not None and self._verifier.is_valid(body, timestamp.strip(), signature)
