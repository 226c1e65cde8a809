"""The one outgoing path for Slack notifications: a durable outbox drained by a rate-limited worker.

Modules: ``notifier`` (the ``Notifier``: queue API and worker loop), ``outbox`` (namespaces, entry
helpers), ``plan`` (what the outbox asks for), ``pacing`` (when a call may go), ``delivery`` (the Slack
calls), ``failures`` (retry, pause or park), ``deadletter`` (parked messages), ``recover`` (finding a
post whose answer was lost), ``refs`` (message references) and ``lease`` (one drainer per store).

Messages are addressed by a stable key (``run:<execution>``, ``card:v3``) so that a later state of the
same thing updates the same message, and replies go into the thread of the message a ``thread_key``
names. ``upsert`` and ``reply`` only append to the outbox (store namespace ``outbox``, time-ordered
keys) and return: a Slack listener can call them before its 3-second ack without waiting for Slack.

One worker thread sends what the outbox holds:

* ``chat.postMessage`` (new messages and replies) in queue order, so a thread's parent is created
  before anything posted into the thread and replies keep their order; when a reply names a parent
  that is still queued later on, the parent is created first. Each channel gets a token bucket
  (about 1 post per second with a small burst, as Slack asks).
* ``chat.update`` for keys that already have a message, from a separate bucket (Tier 3). Pending
  states of one key coalesce: only the newest is sent, and a state identical to the last one sent
  (by hash) is not sent again.
* One message is written at most once per ``message_interval`` (1 s): a call for a key (post,
  update, retry, a lookup that finds a lost post) may start only an interval after the previous
  call for that key *ended*, whatever its outcome, so Slack receives them at least that far apart.
  The end is kept in memory and, as wall time, in the message's reference (``sent_at``), so a
  restarted process or the next lease holder keeps the interval too.
* HTTP 429 pauses that method for ``Retry-After``; 5xx, timeouts and connection errors are retried
  with exponential backoff and jitter, ``max_attempts`` times in all. A post being retried holds back
  only the posts queued after it *in the same thread* (which keeps every thread in order); other
  threads and top-level messages keep flowing. A permanent error (``channel_not_found``,
  ``invalid_blocks``, …) or the last failed attempt parks the message as a dead letter, with a
  notice in its thread and a metric (see ``deadletter``), so nothing is silently lost and
  nothing is retried forever. Token or scope problems pause all sending (they are not the message's
  fault) until fixed.

Message references ``(channel, ts)`` are written to the store (namespace ``message``) right after
Slack accepts a post, before the outbox entry is removed, so a restarted process (a new ``Notifier``
on the same store) carries on with the same messages and threads and never re-posts a key whose
reference was saved. Each post is marked ``sending_at`` in its outbox entry just before the call and
carries the entry's id in its message metadata: an entry found still marked (the process died, or the
call timed out, after Slack accepted the post) is first looked for in Slack (``recover``)
and settled with the message found instead of being posted twice. Only if that lookup cannot answer
(no ``channels:history`` scope, an error) is it posted again, with a warning: at least once.

Several processes may share a store: a lease (namespace ``lease``) lets one of them drain the
outbox at a time; the others only enqueue. A crashed holder's lease lapses after ``lease_seconds``.
"""

from bot.notify.deadletter import AUTH_ERRORS, NS_OUTBOX_DEAD, TRANSIENT_ERRORS
from bot.notify.notifier import Notifier
from bot.notify.outbox import NS_LEASE, NS_MESSAGE, NS_OUTBOX, SlackPoster, payload_hash

__all__ = [
    "AUTH_ERRORS",
    "NS_LEASE",
    "NS_MESSAGE",
    "NS_OUTBOX",
    "NS_OUTBOX_DEAD",
    "TRANSIENT_ERRORS",
    "Notifier",
    "SlackPoster",
    "payload_hash",
]
