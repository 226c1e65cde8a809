"""One live message per rollout, kept up to date while it runs, ending once with its verdict.

``RolloutMessages.refresh(env)`` reads the platform's progress and writes the message of that rollout
(keyed by environment and start time) through the notifier, which persists each state before it
sends and paces updates. Two triggers call it: ``RolloutTicker``, every second while a rollout this
process started runs (it starts when the release core starts a switch and stops once nothing is left
to follow), and the endpoint's "Deployment State Change" events (``handlers.notifications``), so a
rollout followed by no ticker (on Lambda) still moves on each event.

A state is written at most once a second per rollout; the ending is claimed in the store first, so
it is rendered once however many processes and triggers see it.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, timedelta

from bot.notify import Notifier
from bot.services import Services
from handlers.render.common import Message
from handlers.render.rollout import render_rollout
from handlers.repeating import Repeating
from ml.clock import SYSTEM_CLOCK, Clock
from ml.platform import Environment, PlatformError
from ml.rollout_state import RolloutProgress

log = logging.getLogger(__name__)

__all__ = ["NS_ROLLOUT", "NS_ROLLOUT_ENDED", "RolloutMessages", "RolloutTicker", "rollout_key"]

#: rollouts that have a live message (so an ending is rendered for them, whatever their policy)
NS_ROLLOUT = "rollout-message"
#: rollouts whose ending was rendered (claimed once across processes)
NS_ROLLOUT_ENDED = "rollout-ended"
RETENTION_SECONDS = 30 * 24 * 3600
#: at most one state of a rollout's message per this many seconds
MIN_INTERVAL = 1.0


#: One live message per promote: staging deploys are told in the version's thread, as before.
LIVE: tuple[Environment, ...] = ("production",)


def rollout_key(progress: RolloutProgress) -> str:
    """The message key of one rollout: its environment and when it started."""
    started = progress.started_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return f"rollout:{progress.environment}:{started}"


class RolloutMessages:
    """Renders the live message of each environment's rollout; thread-safe."""

    def __init__(self, services: Services, notifier: Notifier, clock: Clock = SYSTEM_CLOCK) -> None:
        self.services = services
        self.notifier = notifier
        self.clock = clock
        self._lock = threading.Lock()
        #: per message key: when its last state was queued (monotonic) and that state
        self._sent: dict[str, tuple[float, tuple[str, str]]] = {}
        #: environments whose rollout has a message and has not ended
        self._live: set[Environment] = set()

    def following(self) -> frozenset[Environment]:
        """What the ticker keeps refreshing: rollouts shown and not ended, and switches under way here."""
        switching = self.services.release.switching()
        with self._lock:
            return frozenset(self._live) | frozenset(e for e in LIVE if e in switching)

    def refresh(self, environment: Environment) -> str | None:
        """Bring the rollout's message up to date: "posted", "updated" or "ended"; None when nothing
        was written (no rollout, too soon after the last state, no change, ending already shown)."""
        if environment not in LIVE:
            return None
        try:
            progress = self.services.platform.rollout_progress(environment)
        except PlatformError as exc:  # the next tick or event tries again
            log.warning("rollout progress of %s not readable: %s", environment, exc)
            return None
        with self._lock:
            if progress is None or progress.environment != environment:
                self._live.discard(environment)
                return None
            return self._write(progress)

    def _write(self, progress: RolloutProgress) -> str | None:
        store, key, env = self.services.store, rollout_key(progress), progress.environment
        if store.get(NS_ROLLOUT_ENDED, key) is not None:
            self._live.discard(env)
            return None  # its ending is shown: an older reading never overwrites it
        shown = store.get(NS_ROLLOUT, key) is not None
        if progress.ended:
            self._live.discard(env)
            if not shown and progress.policy.total_wait_seconds == 0:
                return None  # an instant switch: its card and thread say all there is
            if not store.put_if_absent(NS_ROLLOUT_ENDED, key, {"phase": progress.phase}, RETENTION_SECONDS):
                return None
            self._send(key, progress)
            return "ended"
        self._live.add(env)
        now = self.clock.monotonic()
        last = self._sent.get(key)
        if last is not None and now - last[0] < MIN_INTERVAL:
            return None
        rendered = render_rollout(progress, self.clock.now())
        if last is not None and last[1] == _digest(rendered):
            return None
        if not shown:
            store.put(NS_ROLLOUT, key, {"to_version": progress.to_version}, RETENTION_SECONDS)
        self._send(key, progress, rendered)
        return "updated" if shown else "posted"

    def _send(
        self,
        key: str,
        progress: RolloutProgress,
        rendered: Message | None = None,
    ) -> None:
        text, blocks = rendered or render_rollout(progress, self.clock.now())
        self.notifier.upsert(key, text, blocks)
        self._sent[key] = (self.clock.monotonic(), _digest((text, blocks)))


def _digest(message: Message) -> tuple[str, str]:
    return message[0], repr(message[1])


class RolloutTicker(Repeating):
    """Refreshes the rollouts being followed every second; stops by itself when there is none, and
    :meth:`follow` starts it again."""

    def __init__(self, messages: RolloutMessages, interval: float = MIN_INTERVAL) -> None:
        super().__init__(timedelta(seconds=interval), "rollout-ticker")
        self.messages = messages
        self._guard = threading.Lock()
        self._closed = False

    def follow(self, environment: Environment | None = None) -> None:
        """Tick from now on (called when a switch starts); idempotent."""
        with self._guard:
            if self._closed:
                return
            if self._stop.is_set():  # it stopped itself after its last round: start afresh
                if self._thread is not None:
                    self._thread.join()
                self._thread = None
                self._stop.clear()
            if self._thread is not None and not self._thread.is_alive():
                self._thread = None
            self.start()

    def round(self) -> list[Environment]:
        following = self.messages.following()
        if not following:
            with self._guard:
                if not self.messages.following():
                    self._stop.set()  # nothing to follow: the thread ends; ``follow`` starts another
            return []
        return [env for env in sorted(following) if self.messages.refresh(env) is not None]

    def close(self, timeout: float = 10.0) -> None:
        with self._guard:
            self._closed = True
        super().close(timeout)
