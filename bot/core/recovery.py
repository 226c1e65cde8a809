"""Settling switches left half-way: after a restart, a failed store write, or a platform rollback.

An in-flight marker (``Records.begin``) outlives a switch that did not finish cleanly. Whoever
finds it compares it with what the platform serves: a switch that took is recorded as it would
have been, one the platform undid is announced once as rolled back, and any other is released
and announced as interrupted, with the way to try again. Nothing is applied twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from ml.platform import Environment, PlatformError, RolledBack

from . import rollouts
from .base import ReleaseCore
from .models import Action, Actor, DeploymentKind, DeploymentRecord, Outcome, Result

log = logging.getLogger(__name__)

#: Audit entries searched for a switch's own: far more than are written while one switch runs.
AUDIT_LOOKBACK = 200


class Recovery:
    def __init__(self, core: ReleaseCore) -> None:
        self.core = core

    def recover(self, is_dead: Callable[[str], bool]) -> list[Result]:
        """Settle deploys and rollbacks left half-way by a process that died.

        ``is_dead(owner)`` tells whether the process that took a lock is gone; the caller
        provides it, as only the runtime knows how to probe processes. If the platform
        finished the switch, the deployment is recorded as it would have been; otherwise
        the lock is released and the interruption announced with the next safe action.
        Either way nothing is applied twice.
        """
        results = []
        for environment, held in self.core.records.inflight():
            owner = str(held.get("owner", ""))
            if not owner or not is_dead(owner):
                continue
            results.append(self.settle(environment, held, "the bot stopped"))
        return results

    def settle_own(self) -> None:
        """Settle markers this object left behind when a store write failed after a switch.

        Runs before each decision or switch, so the next attempt repairs what the failed one left:
        the store catches up with the platform, and the environment is not reported busy.
        """
        core = self.core
        for environment, held in core.records.inflight():
            with core._lock:
                if held.get("instance") != core.instance or environment in core._active:
                    continue
            self.settle(environment, held, "a store write failed")

    def update_finished(self, environment: Environment) -> Result | None:
        """An endpoint event says ``environment`` stopped changing: settle an update the platform undid.

        An update this object is still waiting on announces itself. Otherwise (the process that asked
        is gone, or waits elsewhere) the first to see the platform's rollback records and announces it;
        an update that took, or is still going, is left to its owner (or ``recover``).
        """
        core = self.core
        held = next((h for env, h in core.records.inflight() if env == environment), None)
        if held is None:
            return None
        with core._lock:
            if held.get("instance") == core.instance and environment in core._active:
                return None
        undone = self._undone(environment, int(str(held.get("version", 0))))
        if undone is None:
            return None
        core.records.end(environment)
        return self.rolled_back(rollouts.from_marker(environment, held, undone), held)

    def rolled_back(self, result: Result, marker: Mapping[str, object]) -> Result:
        """The platform undid the update: audit and announce that once, as rolled back, never as done."""
        environment = result.environment or "production"
        if not rollouts.claim(self.core.records.store, environment, marker):
            return result  # another process saw the same rollback and announced it
        rollout = marker.get("rollout")
        detail = result.message
        if isinstance(rollout, str) and rollout:
            how = "rollout override" if marker.get("rollout_override") else "rollout"
            detail = f"{detail} ({how}: {rollout})"
        return self.core._finish(result, f"v{result.version}->{environment}", detail)

    def _audited(self, action: Action, target: str, since: str) -> bool:
        """Whether the switch a marker from ``since`` stands for was audited as done."""
        try:
            started = datetime.fromisoformat(since)
        except ValueError:
            return False
        if started.tzinfo is None:
            started = started.replace(tzinfo=UTC)
        return any(
            e.action is action and e.target == target and e.outcome is Outcome.DONE and e.at >= started
            for e in self.core.records.audit(AUDIT_LOOKBACK)
        )

    def _undone(self, environment: Environment, version: int) -> RolledBack | None:
        try:
            return self.core.platform.rolled_back_update(environment, version)
        except PlatformError as exc:
            log.warning("cannot tell whether %s rolled back v%s: %s", environment, version, exc)
            return None

    def settle(self, environment: str, held: Mapping[str, object], cause: str) -> Result:
        core = self.core
        env: Environment = "production" if environment == "production" else "staging"
        version = int(str(held.get("version", 0)))
        previous_raw = held.get("previous")
        previous = None if previous_raw is None else int(str(previous_raw))
        raw_kind = str(held.get("kind", "deploy"))
        kind: DeploymentKind = (
            "promote" if raw_kind == "promote" else ("rollback" if raw_kind == "rollback" else "deploy")
        )
        action = Action(str(held.get("action", "deploy")))
        actor = Actor(str(held.get("actor_id", "unknown")), str(held.get("actor", "unknown")))
        serving = core.serving(env)
        target = f"v{version}->{env}"
        if serving == version:
            history = core.records.deployments(env)
            if not (history and (history[-1].version, history[-1].kind) == (version, kind)):
                core.records.add_deployment(
                    DeploymentRecord(env, version, previous, actor.id, actor.label, core.clock.now(), kind)
                )
            elif self._audited(action, target, str(held.get("since", ""))):
                # recorded and audited: only the marker's release was missed
                core.records.end(env)
                return Result(
                    action,
                    Outcome.NOOP,
                    f"{env} serves v{version}: the {kind} by {actor.label} was already recorded.",
                    actor,
                    version,
                    env,
                )
            core.records.end(env)
            when_ = "while the bot was stopped" if cause == "the bot stopped" else f"but {cause}"
            return core._finish(
                Result(
                    action,
                    Outcome.DONE,
                    f"{env} serves v{version}: the {kind} by {actor.label} completed {when_}, "
                    "and is now recorded.",
                    actor,
                    version,
                    env,
                    data={
                        "from_version": previous,
                        "to_version": version,
                        "kind": kind,
                        "recovered": True,
                    },
                ),
                target,
            )
        undone = self._undone(env, version)
        core.records.end(env)
        if undone is not None:
            return self.rolled_back(rollouts.from_marker(env, held, undone), held)
        # the subcommand that tries again: each front end says how to run it there
        retry = {
            "promote": f"promote v{version}",
            "deploy": f"deploy v{version} staging",
            "rollback": f"rollback {env} v{version}",
        }[kind]
        now = f"v{serving}" if serving is not None else "no model"
        return core._finish(
            Result(
                action,
                Outcome.FAILED,
                f"The {kind} of v{version} to {env} by {actor.label} was interrupted "
                f"({cause}); {env} still serves {now}.",
                actor,
                version,
                env,
                data={"interrupted": True, "retry": retry},
            ),
            target,
        )
