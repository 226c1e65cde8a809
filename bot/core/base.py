"""What every release operation shares: settings, the platform, the records, and the order of a change.

A change is checked against policy, persisted with its audit entry, and only then published to
subscribers; a refusal changes nothing but the audit trail. The concern modules (``queries``,
``approvals``, ``switches``, ``validation``, ``recovery``) work through one ``ReleaseCore``.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from ml.clock import SYSTEM_CLOCK, Clock
from ml.platform import (
    EndpointInfo,
    EndpointStatus,
    Environment,
    MLPlatform,
    ModelPackage,
    NotFound,
    PlatformError,
)
from ml.rollout_policy import RolloutPolicy

from .freeze_windows import FreezeWindow
from .identity import IdentityMap
from .models import Action, Actor, AuditEntry, Outcome, Result
from .policy import allowed
from .records import Records
from .store import Store
from .votes import ApprovalRule

log = logging.getLogger(__name__)

ResultListener = Callable[[Result], None]

SYSTEM = Actor(id="mlops-bot", name="mlops-bot", system=True)


class ReleaseCore:
    def __init__(
        self,
        platform: MLPlatform,
        store: Store,
        *,
        four_eyes: bool = True,
        identities: IdentityMap | None = None,
        allow_unmapped: bool = False,
        auto_deploy_staging: bool = True,
        auto_validate_staging: bool = True,
        auto_approve: bool = False,
        clock: Clock = SYSTEM_CLOCK,
        owner: str | None = None,
        approval_rule: ApprovalRule | None = None,
        approval_ttl: timedelta | None = None,
        approval_reminders: Sequence[timedelta] = (),
        freeze_windows: Sequence[FreezeWindow] = (),
        rollouts: Mapping[Environment, RolloutPolicy] | None = None,
        rollback_alarms: Sequence[str] = (),
    ) -> None:
        self.platform = platform
        self.records = Records(store)
        self.four_eyes = four_eyes
        #: without a map (a bare core in tests and benchmarks) four-eyes can only compare ids
        self.identities = identities or IdentityMap()
        self.allow_unmapped = allow_unmapped or identities is None
        self.auto_deploy_staging = auto_deploy_staging
        self.auto_validate_staging = auto_validate_staging
        self.auto_approve = auto_approve
        self.clock = clock
        #: how many approvals, from which groups, approve a version (N-of-M approvals)
        self.approval_rule = approval_rule or ApprovalRule()
        #: approval expiry (``expiry``): how long a pending version may be approved, reminders before
        self.approval_ttl = approval_ttl
        self.approval_reminders = tuple(approval_reminders)
        #: recurring change freezes (MLOPS_FREEZE_WINDOWS), read by ``freezes``
        self.freeze_windows = tuple(freeze_windows)
        #: how each environment takes a new version (MLOPS_*_ROLLOUT); absent: the platform's own
        self.rollouts: dict[Environment, RolloutPolicy] = dict(rollouts or {})
        #: the alarms named to roll a rollout back (MLOPS_ROLLBACK_ALARMS); empty: the platform's defaults
        self.rollback_alarms = tuple(rollback_alarms)
        self._listeners: list[ResultListener] = []
        self._switch_listeners: list[Callable[[Environment], None]] = []
        #: identifies this process in locks, so a restart can tell its own dead locks apart
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        #: tells this object's in-flight markers from those of others in the same process
        self.instance = secrets.token_hex(6)
        self._lock = threading.Lock()
        self._active: set[str] = set()  # environments this object is switching right now
        self._assemble()

    def _assemble(self) -> None:
        """Build what rests on the shared state; ``ReleaseService`` adds its parts here."""

    def subscribe(self, listener: ResultListener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def deny(self, actor: Actor, action: Action, target: str) -> Result | None:
        """Policy check for front ends that check before parsing further; audits a denial."""
        return self._guard(actor, action, target)

    def on_switch_started(self, listener: Callable[[Environment], None]) -> None:
        """Call ``listener`` with the environment each time this object starts switching one (a
        front end follows the rollout from then on)."""
        with self._lock:
            self._switch_listeners.append(listener)

    def _switch_started(self, environment: Environment) -> None:
        for listener in list(self._switch_listeners):
            try:
                listener(environment)
            except Exception:  # following a rollout is a front end's business: the switch goes on
                log.exception("switch listener failed for %s", environment)

    def switching(self) -> frozenset[str]:
        """The environments this object is switching right now (a rollout it started runs there)."""
        with self._lock:
            return frozenset(self._active)

    def endpoint(self, environment: Environment) -> EndpointInfo:
        """The endpoint's state; one that was never deployed reads as NotDeployed."""
        try:
            return self.platform.describe_endpoint(environment)
        except NotFound:
            return EndpointInfo(
                environment, self.platform.endpoint_name(environment), EndpointStatus.NOT_DEPLOYED, None
            )

    def serving(self, environment: Environment) -> int | None:
        return self.endpoint(environment).version

    # -- shared by the concern modules ------------------------------------------
    def _finish(self, result: Result, target: str, detail: str = "") -> Result:
        """Audit, then announce. Order matters: nothing is announced that was not persisted."""
        self._audit(result, target, detail)
        return self._announce(result, target)

    def _audit(self, result: Result, target: str, detail: str = "") -> None:
        self.records.add_audit(
            AuditEntry(
                at=self.clock.now(),
                actor_id=result.actor.id,
                actor_name=result.actor.label,
                action=result.action,
                outcome=result.outcome,
                target=target,
                detail=detail or result.message,
                version=result.version,
                break_glass=bool(result.data.get("break_glass")),
            )
        )

    def _announce(self, result: Result, target: str) -> Result:
        for listener in list(self._listeners):
            try:
                listener(result)
            except Exception:  # a broken front end must not undo a persisted change
                log.exception("result listener failed for %s %s", result.action, target)
        return result

    def _refuse(
        self,
        actor: Actor,
        action: Action,
        target: str,
        message: str,
        *,
        version: int | None = None,
        environment: Environment | None = None,
        outcome: Outcome = Outcome.REFUSED,
        data: Mapping[str, Any] | None = None,
    ) -> Result:
        return self._finish(Result(action, outcome, message, actor, version, environment, data or {}), target)

    def _guard(
        self,
        actor: Actor,
        action: Action,
        target: str,
        version: int | None = None,
        environment: Environment | None = None,
    ) -> Result | None:
        denial = allowed(actor, action)
        if denial is None:
            return None
        result = Result(
            action,
            Outcome.REFUSED,
            denial.message,
            actor,
            version,
            environment,
            required_role=denial.required[0] if denial.required else None,
        )
        return self._finish(result, target)

    def _package(self, actor: Actor, action: Action, version: int) -> ModelPackage | Result:
        try:
            return self.platform.describe_model_package(version)
        except NotFound as exc:
            return self._refuse(actor, action, f"v{version}", str(exc), version=version)
        except PlatformError as exc:
            return self._refuse(
                actor, action, f"v{version}", str(exc), version=version, outcome=Outcome.FAILED
            )

    def _serves(self, environment: Environment, version: int) -> bool | None:
        """Whether ``environment`` serves ``version``; None when the platform cannot tell now."""
        try:
            return self.serving(environment) == version
        except PlatformError as exc:
            log.warning("cannot tell what %s serves: %s", environment, exc)
            return None

    def _serving_or_none(self, environment: Environment) -> int | None:
        """What ``environment`` serves; None when nothing or when the platform cannot tell now."""
        try:
            return self.serving(environment)
        except PlatformError as exc:
            log.warning("cannot tell what %s serves: %s", environment, exc)
            return None

    def _unreadable(
        self,
        actor: Actor,
        action: Action,
        target: str,
        exc: PlatformError,
        version: int | None,
        environment: Environment | None,
    ) -> Result:
        """The platform failed while the request was being checked, before anything changed."""
        return self._refuse(
            actor,
            action,
            target,
            f"Could not {action.value}: {exc} Nothing changed.",
            version=version,
            environment=environment,
            outcome=Outcome.FAILED,
        )
