"""Messages Slack will not take: how its errors are classified, the notice, the counters, the listing.

Slack's answer decides the message's fate:

* ``rate_limited`` (HTTP 429): the method pauses for ``Retry-After``;
* ``transient`` (5xx, Slack's own transient codes, timeouts, dropped connections): retried with
  backoff, at most ``max_attempts`` times in all, then parked;
* ``auth`` (token or scope problems): everything pauses; no message is at fault;
* ``permanent`` (``invalid_blocks``, ``msg_too_long``, ``channel_not_found``, … and any code Slack
  does not document as transient): parked at once, since a retry would get the same answer.

A parked message (a *dead letter*) stays in the store (namespace ``outbox_dead``) with the error,
the number of attempts and when it failed; ``mlops-bot dead-letters`` lists them. A short plain
notice takes its place in the thread, and the counter ``mlops_slack_dead_letters_total`` counts it.
A notice that cannot be posted is parked without a notice of its own.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Literal

from bot.core.store import Record, Store
from bot.slack_text import escape

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Counter

NS_OUTBOX_DEAD = "outbox_dead"

#: Slack answers these on a request that may well succeed later.
TRANSIENT_ERRORS = frozenset(
    {
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "ratelimited",
        "rate_limited",
        "timeout",
        "team_added_to_org",  # an Enterprise migration: the API is intermittently unavailable
    }
)
#: The app's credentials are wrong: no message is at fault, so everything pauses instead.
AUTH_ERRORS = frozenset(
    {
        "not_authed",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "missing_scope",
        "no_permission",
        "org_login_required",
        "ekm_access_denied",
        "team_access_not_granted",
    }
)
#: Documented chat.postMessage / chat.update refusals of the message or its destination. Any other
#: code not listed above is treated the same way: only the documented transient ones are retried.
PERMANENT_ERRORS = frozenset(
    {
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "msg_blocks_too_long",
        "no_text",
        "too_many_attachments",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "thread_not_found",
        "cannot_reply_to_message",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
        "invalid_arguments",
        "invalid_arg_name",
        "invalid_form_data",
        "invalid_post_type",
        "missing_post_type",
        "invalid_charset",
        "cant_update_message",
        "edit_window_closed",
    }
)

Verdict = Literal["rate_limited", "transient", "auth", "permanent"]
#: Why a message was parked: the label values of the dead-letter counter (a small, fixed set).
ParkReason = Literal["permanent", "retries_exhausted", "invalid_request", "malformed"]


def classify(status: int, error: str) -> Verdict:
    """Slack's HTTP status and error code -> what to do with the message."""
    if status == 429 or error in ("ratelimited", "rate_limited"):
        return "rate_limited"
    if status >= 500 or error in TRANSIENT_ERRORS:
        return "transient"
    if error in AUTH_ERRORS:
        return "auth"
    return "permanent"


def notice_text(error: str) -> str:
    """The plain, short line that stands in the thread for a message that could not be posted."""
    short = error if len(error) <= 80 else error[:79] + "…"  # cut before escaping: never half an entity
    short = escape(short).replace("`", "'")
    return f"⚠️ could not post an update to Slack ({short})"


class NotifyMetrics:
    """Prometheus counters of the notifier (exposed at ``/metrics`` by the HTTP runtime).

    The counters are made on first use: most processes (a Lambda cold start, the chat) never read
    them, and ``prometheus_client`` is not worth importing before a counter moves or is read.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self._given = registry
        self._lock = threading.Lock()
        self._counters: tuple[CollectorRegistry, Counter, Counter] | None = None

    def _made(self) -> tuple[CollectorRegistry, Counter, Counter]:
        with self._lock:
            if self._counters is None:
                from prometheus_client import CollectorRegistry, Counter

                registry = self._given or CollectorRegistry()
                dead_letters = Counter(
                    "mlops_slack_dead_letters",
                    "Slack messages given up on and parked in the store, by reason",
                    ["reason"],
                    registry=registry,
                )
                retries = Counter(
                    "mlops_slack_retries", "Slack calls retried after a transient failure", registry=registry
                )
                for reason in ("permanent", "retries_exhausted", "invalid_request", "malformed"):
                    dead_letters.labels(reason)  # present at 0 from the start, so rates work
                self._counters = registry, dead_letters, retries
            return self._counters

    @property
    def registry(self) -> CollectorRegistry:
        return self._made()[0]

    @property
    def dead_letters(self) -> Counter:
        return self._made()[1]

    @property
    def retries(self) -> Counter:
        return self._made()[2]

    def count(self, reason: ParkReason) -> float:
        """The current value of the dead-letter counter for ``reason``."""
        value = self.registry.get_sample_value("mlops_slack_dead_letters_total", {"reason": reason})
        return float(value or 0.0)


def dead_letters(store: Store, limit: int | None = None) -> list[tuple[str, Record]]:
    """Parked notifications, newest first."""
    return store.query(NS_OUTBOX_DEAD, limit=limit, newest_first=True)


def describe(okey: str, entry: Record) -> str:
    """One line per dead letter, for the terminal."""
    target = entry.get("key") or f"reply in {entry.get('thread_key')}"
    text = " ".join(str(entry.get("text", "")).split())
    if len(text) > 60:
        text = text[:59] + "…"
    attempts = entry.get("attempts", 1)
    return (
        f"{entry.get('failed_at', '?')}  {target}  {entry.get('error', '?')} "
        f"after {attempts} attempt{'s' if attempts != 1 else ''}  {text!r}"
    )
