"""At-most-once processing of deliveries that senders retry (EventBridge, GitHub, CI).

A delivery is claimed with the store's atomic ``put_if_absent`` before it acts. If
acting fails, the claim is withdrawn so that the sender's retry is processed rather
than silently dropped: the bot then acts once, not zero times.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from bot.core.store import Store
from ml.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger(__name__)

NS_SEEN = "seen"
#: EventBridge retries for up to 24 hours, GitHub redeliveries are manual: a week covers both.
SEEN_TTL_SECONDS = 7 * 24 * 3600
#: EventBridge gives up on an event after at most 24 hours (its retry policy's maximum event age).
EVENTBRIDGE_TTL_SECONDS = 24 * 3600


def digest(*parts: bytes | str) -> str:
    """A stable key for deliveries that carry no id of their own."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


@contextmanager
def claim(
    store: Store, key: str, ttl_seconds: int = SEEN_TTL_SECONDS, *, clock: Clock = SYSTEM_CLOCK
) -> Iterator[bool]:
    """Yield True if this is the first delivery of ``key``; undo the claim if the body raises.

    The TTL counts on the store's clock; ``clock`` only dates the claim for whoever reads it.
    """
    first = store.put_if_absent(NS_SEEN, key, {"at": clock.now().isoformat()}, ttl_seconds)
    if not first:
        log.debug("duplicate delivery %s ignored", key)
    try:
        yield first
    except BaseException:
        if first:
            store.delete(NS_SEEN, key)
        raise


def release(store: Store, key: str) -> None:
    """Forget a claim so that a retry of a delivery that was refused is processed again."""
    store.delete(NS_SEEN, key)


def seen(store: Store, key: str) -> bool:
    return store.get(NS_SEEN, key) is not None
