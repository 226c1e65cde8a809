"""What "escaped for Slack" means, as a check over whole Slack payloads, and hostile outside text.

Slack treats ``&``, ``<`` and ``>`` as control characters in ``text`` and in every text object. A
payload is safe when every ``<…>`` token in any of its strings is one the bot composes itself (a
mention of a trusted user id, a link to a trusted URL, a date, the alert's ``<!here>``), every other
``<`` or ``>`` is gone (``>`` survives only as the quote marker at the start of a line), every ``&``
starts one of Slack's three entities, and every mrkdwn text object is ``verbatim`` (so Slack does not
auto-link or auto-mention inside outside text).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

from bot.ingest.models import AlarmStateChange, EndpointDeploymentDetail
from ml.platform import ENVIRONMENTS, EndpointStatus, Environment

#: Slack user ids the tests treat as trusted (they come from Slack itself, never from outside text).
TRUSTED_USERS = frozenset({"UALICE", "UBOB", "UCAROL", "UDAVE"})
#: URLs the tests hand to renderers as links; everything after the prefix is hostile.
LINK_PREFIXES = ("https://github.example/", "https://github.com/")

# Never a trusted id here: a surviving "<@UALICE>" could not be told from the bot's own mention.
HOSTILE = (
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^S0123|@oncall>",
    "<@U123>",
    "<#C1>",
    "<#C1|general>",
    "<https://evil.example|click>",
    "<mailto:x@evil.example|mail>",
    "<!date^1392734382^{date}|x>",
    "&",
    "&amp;",
    "&lt;!channel&gt;",
    ">",
    "<",
    "\n> forged line",
    "\n:white_check_mark: passed",
    "*bold*",
    "_it_",
    "`",
    "```",
    "|",
    "@channel",
    "@here",
    "é ü 😀 中文 \u202e",
)

#: Outside text: pieces of known attacks glued to arbitrary unicode.
outside = st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=8)), min_size=1, max_size=5).map(
    "".join
)
#: The same, never empty or blank (for fields the parsers require).
named = outside.filter(lambda s: s.strip() != "")
maybe = st.none() | outside
#: An http(s) URL from outside: a trusted prefix then anything.
urls = st.builds(lambda prefix, rest: prefix + rest, st.sampled_from(LINK_PREFIXES), outside)

EXAMPLES = settings(max_examples=60, deadline=None)
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
users = st.sampled_from(sorted(TRUSTED_USERS))
envs: st.SearchStrategy[Environment] = st.sampled_from(ENVIRONMENTS)
versions = st.integers(1, 10**6)
moments = st.builds(lambda s: T0 + timedelta(seconds=s), st.integers(0, 10**8))
small = st.lists(outside, max_size=3).map(tuple)

_TOKEN = re.compile(r"<([^<>]*)>")
_RAW_AMP = re.compile(r"&(?!(?:amp|lt|gt);)")
_DATE = re.compile(r"!date\^\d+\^\{date_short_pretty\} \{time\}\|\d{4}-\d\d-\d\d \d\d:\d\d UTC")
_USER = re.compile(r"@([UW][A-Z0-9]{2,30})")
_LINK = re.compile(r"(https?://[^\s<>|]+)\|([^<>|]*)")
_QUOTE_MARKER = re.compile(r"(?m)^>")


def strings(payload: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a payload, with where it is (dict keys and list indexes)."""
    if isinstance(payload, str):
        yield path, payload
    elif isinstance(payload, dict):
        for key, value in payload.items():
            yield from strings(value, f"{path}.{key}")
    elif isinstance(payload, list | tuple):
        for i, value in enumerate(payload):
            yield from strings(value, f"{path}[{i}]")


def text_objects(payload: Any) -> Iterator[dict[str, Any]]:
    if isinstance(payload, dict):
        if payload.get("type") in ("mrkdwn", "plain_text") and isinstance(payload.get("text"), str):
            yield payload
        for value in payload.values():
            yield from text_objects(value)
    elif isinstance(payload, list | tuple):
        for value in payload:
            yield from text_objects(value)


def problems(
    payload: Any,
    *,
    here: int = 0,
    users: frozenset[str] = TRUSTED_USERS,
    links: tuple[str, ...] = LINK_PREFIXES,
) -> list[str]:
    """Everything in ``payload`` that lets outside text act as Slack markup (empty when safe)."""
    found: list[str] = []
    heres = 0
    for where, text in strings(payload):
        for match in _TOKEN.finditer(text):
            body = match.group(1)
            user = _USER.fullmatch(body)
            link = _LINK.fullmatch(body)
            heres += body == "!here"
            ours = (
                body == "!here"
                or _DATE.fullmatch(body) is not None
                or (user is not None and user.group(1) in users)
                or (link is not None and link.group(1).startswith(links) and not _RAW_AMP.search(body))
            )
            if not ours:
                found.append(f"{where}: token {match.group()!r} the bot did not compose")
        rest = _TOKEN.sub("", text)
        if "<" in rest:
            found.append(f"{where}: raw '<' in {text!r}")
        if ">" in _QUOTE_MARKER.sub("", rest):
            found.append(f"{where}: raw '>' (not a quote marker) in {text!r}")
        if _RAW_AMP.search(rest):
            found.append(f"{where}: raw '&' in {text!r}")
    if heres != here:
        found.append(f"<!here> appears {heres} times, expected {here}")
    for obj in text_objects(payload):
        if obj["type"] == "mrkdwn" and obj.get("verbatim") is not True:
            found.append(f"mrkdwn text object is not verbatim: {obj['text'][:80]!r}")
    return found


def assert_safe(payload: Any, *, here: int = 0) -> None:
    found = problems(payload, here=here)
    assert not found, "\n".join(found[:10])


def payload(message: Any) -> dict[str, Any]:
    """A renderer's output as the arguments of the Slack call it feeds: ``(text, blocks)`` or an
    object with ``text`` and ``blocks``."""
    if isinstance(message, tuple):
        return {"text": message[0], "blocks": message[1]}
    return {"text": message.text, "blocks": message.blocks}


def unescape(text: str) -> str:
    """What Slack displays for escaped text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def alarm_change(
    event_id: str,
    name: str,
    state: str,
    previous: str | None = None,
    reason: str | None = None,
    at: datetime | None = None,
    description: str | None = None,
    region: str = "",
    endpoints: tuple[str, ...] = (),
    metrics: tuple[str, ...] = (),
) -> AlarmStateChange:
    """An alarm event in CloudWatch's shape, parsed as the bot parses one."""
    watched = [{"metricStat": {"metric": {"name": m}}} for m in metrics]
    watched += [{"metricStat": {"metric": {"dimensions": {"EndpointName": e}}}} for e in endpoints]
    return AlarmStateChange.model_validate(
        {
            "id": event_id,
            "region": region,
            "time": at,
            "detail": {
                "alarmName": name,
                "state": {"value": state, "reason": reason, "timestamp": at},
                "previousState": {"value": previous},
                "configuration": {"description": description, "metrics": watched},
            },
        }
    )


def deployment_change(
    name: str,
    status: EndpointStatus | None,
    raw_status: str,
    config: str | None,
    pending: str | None,
    reason: str | None,
    modified: datetime | None,
    messages: tuple[str, ...],
) -> EndpointDeploymentDetail:
    """A deployment event's detail in SageMaker's shape, parsed as the bot parses one."""
    stages = [{"VariantStatus": [{"Status": "Baking", "StatusMessage": m} for m in messages]}]
    return EndpointDeploymentDetail.model_validate(
        {
            "EndpointName": name,
            "EndpointStatus": status.value if status else raw_status,
            "EndpointConfigName": config,
            "FailureReason": reason,
            "LastModifiedTime": modified,
            "PendingDeploymentSummary": {"EndpointConfigName": pending, "ProductionVariants": stages},
        }
    )
