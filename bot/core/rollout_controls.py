"""A running rollout cut short by a person (stop and roll back, finish now), and warm standbys retired.

Stop and finish are checked against policy at the moment they are asked, audited whatever the
outcome, and answered in words: a refusal (no rollout running, one the platform cannot cut short)
changes nothing. Retiring a warm standby is the bot's own scheduled work, audited once per standby.
"""

from __future__ import annotations

import logging

from ml.platform import ENVIRONMENTS, Environment, InvalidRequest, PlatformError
from ml.rollout_state import RolloutProgress

from .base import SYSTEM, ReleaseCore
from .models import Action, Actor, Outcome, Result

log = logging.getLogger(__name__)

__all__ = ["RolloutControls"]


def rollout_target(environment: Environment) -> str:
    return f"rollout:{environment}"


class RolloutControls:
    def __init__(self, core: ReleaseCore) -> None:
        self.core = core

    def stop(self, actor: Actor, environment: Environment) -> Result:
        return self._cut_short(actor, Action.STOP_ROLLOUT, environment)

    def finish(self, actor: Actor, environment: Environment) -> Result:
        return self._cut_short(actor, Action.FINISH_ROLLOUT, environment)

    def _cut_short(self, actor: Actor, action: Action, environment: Environment) -> Result:
        core = self.core
        target = rollout_target(environment)
        if (denied := core._guard(actor, action, target, environment=environment)) is not None:
            return denied
        try:
            progress = core.platform.rollout_progress(environment)
        except PlatformError as exc:
            return core._unreadable(actor, action, target, exc, None, environment)
        version = progress.to_version if progress is not None else None
        if progress is None or progress.ended:
            return core._refuse(
                actor,
                action,
                target,
                f"No rollout is running on {environment}: {_last(progress)}. Nothing changed.",
                version=version,
                environment=environment,
                outcome=Outcome.NOOP if progress is not None else Outcome.REFUSED,
            )
        if action is Action.FINISH_ROLLOUT and not progress.can_finish:
            return core._refuse(
                actor,
                action,
                target,
                f"The rollout of v{progress.to_version} to {environment} cannot be finished early on "
                f"this platform; it ends by itself, or `rollout stop {environment}` rolls it back. "
                "Nothing changed.",
                version=version,
                environment=environment,
            )
        try:
            if action is Action.STOP_ROLLOUT:
                said = core.platform.stop_rollout(environment, actor.label)
            else:
                said = core.platform.finish_rollout(environment, actor.label)
        except InvalidRequest as exc:
            return core._refuse(
                actor, action, target, f"{exc} Nothing changed.", version=version, environment=environment
            )
        except PlatformError as exc:
            return core._refuse(
                actor,
                action,
                target,
                f"Could not {action.value} on {environment}: {exc}",
                version=version,
                environment=environment,
                outcome=Outcome.FAILED,
            )
        data = {"rollout": progress.policy.describe(), "started_at": progress.started_at.isoformat()}
        result = Result(action, Outcome.DONE, said, actor, version, environment, data=data)
        return core._finish(result, target)

    def retire_warm(self) -> list[Result]:
        """Retire the warm standbys whose retention has ended; each retirement audited and announced."""
        core = self.core
        done: list[Result] = []
        for environment in ENVIRONMENTS:
            try:
                standby = core.platform.warm_standby(environment)
                if not core.platform.retire_warm(environment):
                    continue
            except PlatformError as exc:  # the next round tries again
                log.warning("could not retire the warm standby of %s: %s", environment, exc)
                continue
            kept = f"v{standby.version}" if standby is not None else "the previous version"
            message = (
                f"Retired the warm standby {kept} of {environment}: its retention ended, so a rollback "
                "redeploys from now on."
            )
            # told on the card of the version serving there, which showed the standby
            serving = core._serving_or_none(environment)
            data = {"retired_version": standby.version} if standby is not None else {}
            result = Result(Action.RETIRE_WARM, Outcome.DONE, message, SYSTEM, serving, environment, data)
            done.append(core._finish(result, f"warm:{environment}"))
        return done


def _last(progress: RolloutProgress | None) -> str:
    if progress is None:
        return "there has been none"
    ending = progress.verdict or progress.phase
    return f"the last one, of v{progress.to_version}, ended ({ending})"
