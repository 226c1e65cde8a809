"""Release results and platform events -> Slack messages, through the ``Notifier`` only.

* a pipeline execution or step status change updates the run message (``run:<execution>``);
* a model package change creates or updates the release card (``card:v<N>``), adopting an
  approval decided outside the bot first;
* every later change to a version (decision, staging deploy, validation, promotion,
  rollback) updates its card and is also a reply in the card's thread;
* an endpoint change the bot did not make (failure, or a new version served) is a reply in
  the thread of the version that endpoint serves.

``handle_platform_event`` is the entry point for events arriving by any route
(in-process bus, EventBridge over HTTP).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from weakref import WeakKeyDictionary, WeakValueDictionary

from slack_bolt import App

from bot.core.models import Action, Outcome, Result
from bot.core.records import NS_INFLIGHT
from bot.core.service import ReleaseService
from bot.log_throttle import ThrottledLog
from bot.notify import Notifier
from bot.services import Services
from bot.slack_text import escape
from ml.platform import (
    DT_ENDPOINT,
    DT_ENDPOINT_DEPLOYMENT,
    DT_EXECUTION,
    DT_MODEL_PACKAGE,
    DT_STEP,
    ENVIRONMENTS,
    EndpointStatus,
    NotFound,
    PlatformEvent,
)

from .commands.ops import card_state
from .render.common import code, fallback, mention, result_emoji, section, to_dicts, truncate
from .render.release_card import card_key, render_card
from .render.run_message import render_run, run_key

log = logging.getLogger(__name__)

__all__ = ["NS_EVENT", "SlackNotifications", "handle_platform_event", "register"]

#: Store namespace of platform event ids already handled (EventBridge delivers at least once).
NS_EVENT = "slack-event"
EVENT_TTL_SECONDS = 24 * 3600

_PROBLEM_STATES = {EndpointStatus.FAILED, EndpointStatus.ROLLING_BACK, EndpointStatus.OUT_OF_SERVICE}

#: One lock per message key while someone uses it: an entry goes away with its last user, so
#: the map holds only keys being rendered right now, however many keys there have been.
_key_locks: WeakValueDictionary[str, threading.Lock] = WeakValueDictionary()
_key_locks_guard = threading.Lock()
#: Events about resources the bot does not know are the sender's business, not ours: one line per
#: kind every five minutes, with a count, however many arrive.
_unknown = ThrottledLog(log, interval=300.0)


@contextmanager
def _serialized(key: str) -> Iterator[None]:
    """Read-render-write of one message at a time, so an older render never overwrites a newer one."""
    with _key_locks_guard:
        lock = _key_locks.get(key)
        if lock is None:
            lock = threading.Lock()
            _key_locks[key] = lock
    with lock:  # the local reference keeps the entry alive until this user is done
        yield


class SlackNotifications:
    def __init__(self, services: Services, notifier: Notifier) -> None:
        self.services = services
        self.notifier = notifier

    @property
    def release(self) -> ReleaseService:
        return self.services.release

    # -- messages ---------------------------------------------------------------
    def refresh_run(self, execution_id: str) -> None:
        key = run_key(execution_id)
        with _serialized(key):
            execution = self.services.platform.describe_execution(execution_id)
            text, blocks = render_run(execution)
            self.notifier.upsert(key, text, blocks)

    def refresh_card(self, version: int) -> None:
        key = card_key(version)
        with _serialized(key):
            text, blocks = render_card(card_state(self.services, version))
            self.notifier.upsert(key, text, blocks)

    def reply(self, version: int, text: str) -> None:
        self.notifier.reply(card_key(version), fallback(text), to_dicts([section(text)]))

    # -- release results -----------------------------------------------------------
    def on_result(self, result: Result) -> None:
        """Subscribed to ``ReleaseService``: runs after each result was persisted."""
        if result.outcome in (Outcome.REFUSED, Outcome.NOOP):
            return  # the person who asked gets the refusal; the channel saw nothing change
        if result.action in (Action.TRAIN, Action.STOP):
            execution_id = result.data.get("execution_id")
            if isinstance(execution_id, str) and result.outcome is Outcome.DONE:
                self.refresh_run(execution_id)
            return
        version = result.version
        if version is None:
            return
        self.refresh_card(version)
        who = mention(result.actor.id, result.actor.label)
        text = f"{result_emoji(result)} {escape(result.message)}"
        if not result.actor.system:
            text += f" — {who}"
        if result.action is Action.VALIDATE and result.outcome is Outcome.DONE:
            text += _checks(result.data.get("report"))
        self.reply(version, text)
        previous = result.data.get("from_version")
        if result.outcome is Outcome.DONE and isinstance(previous, int) and previous != version:
            # the version that stopped serving changes too (status, Rollback button)
            self.refresh_card(previous)
            if result.action is Action.ROLLBACK:
                env = escape(result.environment)
                self.reply(previous, f":rewind: {env} was rolled back from v{previous} to v{version} — {who}")
            elif result.action is Action.PROMOTE:
                self.reply(previous, f":arrow_right: v{version} replaced v{previous} in production — {who}")

    # -- platform events -------------------------------------------------------------
    def on_event(self, event: PlatformEvent) -> None:
        """Subscribed to the platform: never raises (a failure is logged, the event dropped)."""
        try:
            self.handle(event)
        except Exception:
            log.exception("could not post platform event %s", event.get("detail-type"))

    def handle(self, event: Mapping[str, Any]) -> None:
        detail_type = event.get("detail-type")
        detail = event.get("detail")
        if not isinstance(detail, Mapping):
            _unknown.warning("no-detail", "ignoring an event without detail: %s", str(detail_type)[:100])
            return
        event_id = event.get("id")
        if isinstance(event_id, str) and event_id:
            fresh = self.services.store.put_if_absent(
                NS_EVENT, event_id[:200], {"type": str(detail_type)}, ttl_seconds=EVENT_TTL_SECONDS
            )
            if not fresh:
                return
        if detail_type in (DT_EXECUTION, DT_STEP):
            execution_id = detail.get("pipelineExecutionArn")
            if isinstance(execution_id, str) and execution_id:
                try:
                    self.refresh_run(execution_id)
                except NotFound:  # another pipeline's run, or one since deleted: a retry cannot help
                    _unknown.warning(
                        "execution", "event for unknown execution %s: ignored", execution_id[:200]
                    )
        elif detail_type == DT_MODEL_PACKAGE:
            self._model_package(detail)
        elif detail_type in (DT_ENDPOINT, DT_ENDPOINT_DEPLOYMENT):
            self._endpoint(detail)
        else:
            log.debug("ignoring event %s", detail_type)

    def _model_package(self, detail: Mapping[str, Any]) -> None:
        platform = self.services.platform
        group = detail.get("ModelPackageGroupName")
        if group is not None and group != platform.model_package_group:
            return
        raw = detail.get("ModelPackageVersion")
        if not isinstance(raw, int | str) or not str(raw).isdigit():
            _unknown.warning("package-version", "model package event without a version: %r", str(raw)[:100])
            return
        version = int(raw)
        try:
            package = platform.describe_model_package(version)
        except NotFound:
            _unknown.warning(
                "package", "model package event for v%s, which the registry does not have", version
            )
            return
        if self.release.sync_approval(package) is None:
            self.refresh_card(version)  # otherwise the sync's result already refreshed it

    def _endpoint(self, detail: Mapping[str, Any]) -> None:
        name = detail.get("EndpointName")
        status = EndpointStatus.parse(detail.get("EndpointStatus"))
        if not isinstance(name, str) or status is None:
            return
        platform = self.services.platform
        env = next((e for e in ENVIRONMENTS if platform.endpoint_name(e) == name), None)
        if env is None:
            return
        info = self.release.endpoint(env)
        reason = detail.get("FailureReason") or info.failure_reason
        if status in _PROBLEM_STATES:
            text = f":red_circle: {env} endpoint {code(name, 100)} is {status.value}"
            text += f": {escape(truncate(str(reason), 500))}" if reason else "."
        elif status is EndpointStatus.IN_SERVICE and info.version is not None:
            if self.services.store.get(NS_INFLIGHT, env) is not None:
                # The bot is changing it: its own result is announced, unless the platform undid the
                # change while nobody here waits for it (then this records and announces that).
                self.release.update_finished(env)
                return
            history = self.release.history(env)
            if history and history[-1].version == info.version:
                return
            text = (
                f":information_source: {env} endpoint {code(name, 100)} now serves v{info.version}; "
                "the change was made outside mlops-bot."
            )
        else:
            return
        if info.version is None:
            self.notifier.reply(f"endpoint:{env}", text, to_dicts([section(text)]))
            return
        self.refresh_card(info.version)
        self.reply(info.version, text)


def _checks(report: object) -> str:
    if not isinstance(report, Mapping):
        return ""
    checks = report.get("checks")
    if not isinstance(checks, list):
        return ""
    lines = []
    for check in checks[:10]:
        if isinstance(check, Mapping):
            mark = ":white_check_mark:" if check.get("passed") else ":x:"
            name = escape(str(check.get("name", "?")))
            detail = check.get("detail") or check.get("message") or ""
            lines.append(f"{mark} {name}" + (f" — {escape(truncate(str(detail), 200))}" if detail else ""))
    return ("\n" + "\n".join(lines)) if lines else ""


_bridges: WeakKeyDictionary[ReleaseService, SlackNotifications] = WeakKeyDictionary()
_bridges_lock = threading.Lock()


def handle_platform_event(services: Services, notifier: Notifier, event: PlatformEvent) -> None:
    """Map one EventBridge-shaped event to Slack messages (raises on failure, for HTTP callers)."""
    SlackNotifications(services, notifier).handle(event)


def register(app: App, services: Services) -> None:
    """Subscribe once per release core; a later app for the same core takes over its messages."""
    notifier = services.notifier
    if notifier is None:
        raise RuntimeError(
            "build the notifier first (runtimes.assembly.build_notifier): listeners post through it"
        )
    with _bridges_lock:
        bridge = _bridges.get(services.release)
        if bridge is not None:
            bridge.notifier = notifier
            return
        bridge = SlackNotifications(services, notifier)
        _bridges[services.release] = bridge
    services.release.subscribe(bridge.on_result)
    services.platform.subscribe(bridge.on_event)
