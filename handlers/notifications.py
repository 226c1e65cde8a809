"""Release results and platform events -> Slack messages, through the ``Notifier`` only.

* a pipeline execution or step status change updates the run message (``run:<execution>``);
* a model package change creates or updates the release card (``card:v<N>``), adopting an
  approval decided outside the bot first;
* every later change to a version (decision, staging deploy, validation, promotion,
  rollback) updates its card and is also a reply in the card's thread;
* an endpoint change the bot did not make (failure, or a new version served) is a reply in
  the thread of the version that endpoint serves.

``handle_platform_event`` takes events parsed and deduplicated where they arrived (EventBridge over
HTTP or a Lambda invocation); the in-process bus of the local platform parses in ``on_event``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING
from weakref import WeakValueDictionary

from bot.core.evidence import gather_evidence
from bot.core.models import Action, Outcome, Result
from bot.core.records import NS_INFLIGHT
from bot.core.service import ReleaseService
from bot.log_throttle import ThrottledLog
from bot.notify import Notifier
from bot.services import Services
from bot.slack_text import escape
from ml.platform import ENVIRONMENTS, EndpointStatus, NotFound, PlatformEvent

from .commands.ops import card_state
from .evidence_chart import EvidenceCharts
from .freeze_notices import post_freeze_notices
from .render.common import code, fallback, mention, result_text, section, to_dicts, truncate
from .render.drift import drift_card_key
from .render.lifecycle import outside_change_text
from .render.release_card import card_key, render_card
from .render.run_message import render_run, run_key
from .render.validation import accuracy_note
from .rollout_watch import RolloutMessages, RolloutTicker
from .thread_files import FileUploader

if TYPE_CHECKING:
    from bot.ingest.models import EndpointDetail, EventBridgeEvent, ModelPackageDetail

log = logging.getLogger(__name__)

__all__ = ["SlackNotifications", "handle_platform_event", "notifications_for", "subscribe"]

_PROBLEM_STATES = {EndpointStatus.FAILED, EndpointStatus.ROLLING_BACK, EndpointStatus.OUT_OF_SERVICE}

#: Guards the creation of the one ``SlackNotifications`` of a ``Services``.
_creating = threading.Lock()
#: Events about resources the bot does not know are the sender's business, not ours: one line per
#: kind every five minutes, with a count, however many arrive.
_unknown = ThrottledLog(log, interval=300.0)


class KeyLocks:
    """One lock per message key while someone uses it: an entry goes away with its last user, so
    the map holds only keys being rendered right now, however many keys there have been."""

    def __init__(self) -> None:
        self._locks: WeakValueDictionary[str, threading.Lock] = WeakValueDictionary()
        self._guard = threading.Lock()

    def __len__(self) -> int:
        return len(self._locks)

    def __getitem__(self, key: str) -> threading.Lock:
        return self._locks[key]

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        """Read-render-write of one message at a time, so an older render never overwrites a newer one."""
        with self._guard:
            lock = self._locks.get(key)
            if lock is None:
                lock = threading.Lock()
                self._locks[key] = lock
        with lock:  # the local reference keeps the entry alive until this user is done
            yield


class SlackNotifications:
    def __init__(self, services: Services, notifier: Notifier) -> None:
        self.services = services
        self.notifier = notifier
        self.locks = KeyLocks()
        #: the live message of each rollout, and the ticker that follows the ones started here
        self.rollouts = RolloutMessages(services, notifier)
        self.ticker = RolloutTicker(self.rollouts)
        #: subscribed to the release core and the platform (by ``subscribe``, once)
        self.subscribed = False

    @property
    def release(self) -> ReleaseService:
        return self.services.release

    def close(self) -> None:
        """Stop following rollouts (the services close after this)."""
        self.ticker.close()

    # -- messages ---------------------------------------------------------------
    def refresh_run(self, execution_id: str) -> None:
        key = run_key(execution_id)
        with self.locks.hold(key):
            execution = self.services.platform.describe_execution(execution_id)
            text, blocks = render_run(execution)
            self.notifier.upsert(key, text, blocks)

    def refresh_card(self, version: int) -> None:
        key = card_key(version)
        with self.locks.hold(key):
            text, blocks = render_card(card_state(self.services, version))
            self.notifier.upsert(key, text, blocks)

    def chart_card(self, version: int) -> None:
        """The confusion matrix in the card's thread, once the card is in Slack (else at the next chance)."""
        uploader = self.notifier.client
        if not isinstance(uploader, FileUploader):
            return
        charts = EvidenceCharts(self.services.store, self.notifier, uploader)
        if not charts.done(version):
            services = self.services
            evidence = gather_evidence(
                services.platform, self.release.view(version), services.settings.promotion_rules
            )
            charts.post(evidence, services.platform.model_package_group)

    def on_message_created(self, key: str) -> None:
        """A card just reached Slack: its thread can take the confusion matrix now."""
        if key.startswith("card:v") and key[len("card:v") :].isdigit():
            self.chart_card(int(key[len("card:v") :]))

    def reply(self, version: int, text: str) -> None:
        self.notifier.reply(card_key(version), fallback(text), to_dicts([section(text)]))

    # -- release results -----------------------------------------------------------
    def on_result(self, result: Result) -> None:
        """Subscribed to ``ReleaseService``: runs after each result was persisted."""
        if post_freeze_notices(self.notifier, self.services.settings, result):
            return
        if result.outcome in (Outcome.REFUSED, Outcome.NOOP):
            return  # the person who asked gets the refusal; the channel saw nothing change
        if result.action is Action.ACKNOWLEDGE:
            if result.environment is not None:  # in the drift card's thread
                who = mention(result.actor.id, result.actor.label)
                text = f":no_bell: {escape(result.message)} — {who}"
                self.notifier.reply(
                    drift_card_key(result.environment), fallback(text), to_dicts([section(text)])
                )
            return
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
        text = result_text(result)
        if not result.actor.system:
            text += f" — {who}"
        if result.action is Action.VALIDATE and result.outcome is Outcome.DONE:
            if (note := accuracy_note(self.release.view(version))) is not None:
                text += "\n" + note
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
    def on_event(self, raw: PlatformEvent) -> None:
        """Subscribed to the platform's in-process bus: parses, and never raises (a failure is logged)."""
        # The event models load with the first event: a Slack request (a Lambda cold start) needs none.
        from bot.ingest.models import EventError, parse

        try:
            self.handle(parse(raw))
        except EventError as exc:
            _unknown.warning("malformed", "ignoring a malformed platform event: %s", exc)
        except Exception:
            log.exception("could not post platform event %s", raw.get("detail-type"))

    def handle(self, event: EventBridgeEvent) -> None:
        from bot.ingest.models import (
            EndpointDeploymentStateChange,
            EndpointStateChange,
            ModelPackageStateChange,
            PipelineExecutionStatusChange,
            PipelineStepStatusChange,
        )

        if isinstance(event, PipelineExecutionStatusChange | PipelineStepStatusChange):
            execution_id = event.detail.execution_arn
            try:
                self.refresh_run(execution_id)
            except NotFound:  # another pipeline's run, or one since deleted: a retry cannot help
                _unknown.warning("execution", "event for unknown execution %s: ignored", execution_id[:200])
        elif isinstance(event, ModelPackageStateChange):
            self._model_package(event.detail)
        elif isinstance(event, EndpointDeploymentStateChange):
            self._rollout(event.detail.endpoint_name)
            self._endpoint(event.detail)
        elif isinstance(event, EndpointStateChange):
            self._endpoint(event.detail)
        else:
            log.debug("ignoring event %s", event.detail_type)

    def _model_package(self, detail: ModelPackageDetail) -> None:
        platform = self.services.platform
        if detail.group and detail.group != platform.model_package_group:
            return
        version = detail.version
        try:
            package = platform.describe_model_package(version)
        except NotFound:
            _unknown.warning(
                "package", "model package event for v%s, which the registry does not have", version
            )
            return
        self.release.open_approval_window(package)  # a new pending version: its approval expiry starts
        # before the card renders: a new version's first stage is written here
        outside = self.release.observe_life_cycle(package)
        if self.release.sync_approval(package) is None:
            self.refresh_card(version)  # otherwise the sync's result already refreshed it
        if outside is not None:
            self.reply(version, outside_change_text(version, outside, package.modified_by))
        self.chart_card(version)

    def _rollout(self, endpoint: str) -> None:
        """A deployment moved on: the live message of the rollout there shows where it is now."""
        platform = self.services.platform
        env = next((e for e in ENVIRONMENTS if platform.endpoint_name(e) == endpoint), None)
        if env is not None:
            self.rollouts.refresh(env)

    def _endpoint(self, detail: EndpointDetail) -> None:
        name, status = detail.endpoint_name, detail.status
        if status is None:
            return
        platform = self.services.platform
        env = next((e for e in ENVIRONMENTS if platform.endpoint_name(e) == name), None)
        if env is None:
            return
        info = self.release.endpoint(env)
        reason = detail.failure_reason or info.failure_reason
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


def notifications_for(services: Services, notifier: Notifier) -> SlackNotifications:
    """The one ``SlackNotifications`` of ``services``, made on first use; the latest notifier takes over."""
    with _creating:
        current = services.subscriber
        if not isinstance(current, SlackNotifications):
            current = SlackNotifications(services, notifier)
            services.subscriber = current
        current.notifier = notifier
        current.rollouts.notifier = notifier
        return current


def handle_platform_event(services: Services, notifier: Notifier, event: EventBridgeEvent) -> None:
    """Map one parsed, deduplicated event to Slack messages (raises on failure, for HTTP callers)."""
    notifications_for(services, notifier).handle(event)


def subscribe(services: Services) -> None:
    """Subscribe to the release core and the platform, once per services, through their notifier.

    A later call for the same services keeps the subscription; its notifier then posts.
    """
    notifier = services.notifier
    if notifier is None:
        raise RuntimeError(
            "build the notifier first (runtimes.assembly.build_notifier): messages go through it"
        )
    bridge = notifications_for(services, notifier)
    with _creating:
        if bridge.subscribed:
            return
        bridge.subscribed = True
    services.release.subscribe(bridge.on_result)
    services.release.on_switch_started(bridge.ticker.follow)
    services.platform.subscribe(bridge.on_event)
    notifier.on_created(bridge.on_message_created)
