"""Endpoint updates the platform undid by itself (SageMaker's auto-rollback on an alarm).

Such an update never counts as a deployment: the environment keeps serving the version it had, in
the platform and in the bot's records alike. What the bot records is the attempt, as an audit entry
whose outcome is ``rolled_back``, announced once however many processes notice it (the one that
waited on the update, an endpoint event, a restart).
"""

from __future__ import annotations

from collections.abc import Mapping

from ml.platform import Environment, RolledBack
from ml.rollout_policy import RolloutPolicy

from .models import Action, Actor, DeploymentKind, Outcome, Result
from .store import Store

#: Store namespace of rolled-back updates already announced.
NS_ROLLED_BACK = "rolled-back"
ANNOUNCED_TTL_SECONDS = 7 * 24 * 3600


def message(kind: DeploymentKind, version: int, environment: Environment, undone: RolledBack) -> str:
    """``The promote of v3 to production was rolled back by SageMaker: alarm X fired. ...``"""
    if undone.alarms:
        noun = "alarm" if len(undone.alarms) == 1 else "alarms"
        why = f": {noun} {', '.join(undone.alarms)} fired"
        if undone.reason:
            why += f" ({undone.reason})"
    else:
        why = f": {undone.reason}" if undone.reason else " (no alarm named a cause)"
    serving = undone.serving_version
    still = f"{environment} still serves v{serving}" if serving is not None else f"{environment} is unchanged"
    return (
        f"The {kind} of v{version} to {environment} was rolled back by {undone.rolled_back_by}{why}. "
        f"{still}; v{version} is not serving there."
    )


def claim(store: Store, environment: Environment, held: Mapping[str, object]) -> bool:
    """True for the first caller to announce the rollback of the update ``held`` describes."""
    key = f"{environment}#{held.get('instance', '')}#{held.get('since', '')}"
    return store.put_if_absent(
        NS_ROLLED_BACK,
        key[:200],
        {"version": held.get("version"), "kind": held.get("kind")},
        ttl_seconds=ANNOUNCED_TTL_SECONDS,
    )


def result(
    actor: Actor,
    action: Action,
    version: int,
    environment: Environment,
    kind: DeploymentKind,
    undone: RolledBack,
    policy: RolloutPolicy | None = None,
) -> Result:
    rollout = {"rollout": policy.describe()} if policy is not None else {}
    return Result(
        action,
        Outcome.ROLLED_BACK,
        message(kind, version, environment, undone),
        actor,
        version,
        environment,
        data={
            "kind": kind,
            "rolled_back_by": undone.rolled_back_by,
            "alarms": list(undone.alarms),
            "reason": undone.reason,
            "serving_version": undone.serving_version,
            **rollout,
        },
    )


def from_marker(environment: Environment, held: Mapping[str, object], undone: RolledBack) -> Result:
    """The result of the update an in-flight marker describes, whose caller is not there to report it."""
    raw_kind = str(held.get("kind", "deploy"))
    kind: DeploymentKind = (
        "promote" if raw_kind == "promote" else ("rollback" if raw_kind == "rollback" else "deploy")
    )
    actor = Actor(str(held.get("actor_id", "unknown")), str(held.get("actor", "unknown")))
    action = Action(str(held.get("action", "deploy")))
    return result(actor, action, int(str(held.get("version", 0))), environment, kind, undone)


def audit_detail(message: str, policy: RolloutPolicy | None, override: bool) -> str:
    """A switch's audit detail: its message, and the rollout when it was chosen for this promote or
    moves traffic gradually (an instant configured switch says nothing more)."""
    if policy is None or not (override or policy.gradual or policy.bake_seconds):
        return message
    how = "rollout override" if override else "rollout"
    return f"{message} ({how}: {policy.describe()})"
