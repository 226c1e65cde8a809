"""Who may do what. Deny by default: an action absent from the table needs a role nobody has."""

from __future__ import annotations

from dataclasses import dataclass

from .models import Action, Actor, Role

#: Read-only actions anyone in the channel may use.
OPEN_ACTIONS: frozenset[Action] = frozenset(
    {Action.HELP, Action.STATUS, Action.HISTORY, Action.AUDIT, Action.DRIFT, Action.CARD}
)

#: The roles that grant each state-changing action (any one of them suffices).
REQUIRED_ROLES: dict[Action, tuple[Role, ...]] = {
    Action.TRAIN: (Role.TRAINER,),
    Action.STOP: (Role.TRAINER,),
    Action.APPROVE: (Role.APPROVER,),
    Action.REJECT: (Role.APPROVER,),
    Action.DEPLOY: (Role.RELEASER,),
    Action.VALIDATE: (Role.RELEASER,),
    Action.PROMOTE: (Role.RELEASER,),
    Action.ROLLBACK: (Role.RELEASER, Role.ONCALL),
    Action.ACKNOWLEDGE: (Role.ONCALL, Role.RELEASER),
    Action.REQUEST_APPROVAL: (Role.TRAINER,),
    Action.FREEZE: (Role.RELEASER, Role.ONCALL),
    # let through here; the freeze itself then needs oncall (``freezes.break_glass_problem``)
    Action.BREAK_GLASS: (Role.ONCALL, Role.RELEASER),
    Action.UNFREEZE: (Role.RELEASER, Role.ONCALL),
    Action.STOP_ROLLOUT: (Role.RELEASER, Role.ONCALL),
    Action.FINISH_ROLLOUT: (Role.RELEASER, Role.ONCALL),
}

#: Actions only the bot itself takes (absent from the table above, so no person may).
SYSTEM_ACTIONS: frozenset[Action] = frozenset({Action.EXPIRE, Action.RETIRE_WARM})


@dataclass(frozen=True)
class Denial:
    action: Action
    required: tuple[Role, ...]

    @property
    def message(self) -> str:
        roles = " or ".join(f"*{r.value}*" for r in self.required) or "a role nobody holds"
        return f"You need the {roles} role to {self.action.value}."


def allowed(actor: Actor, action: Action) -> Denial | None:
    """None when ``actor`` may do ``action``, else the denial to show."""
    if action in OPEN_ACTIONS or actor.system:
        return None
    required = REQUIRED_ROLES.get(action, ())
    if actor.roles.intersection(required):
        return None
    return Denial(action, required)


def actions_for(actor: Actor) -> list[Action]:
    """The actions ``actor`` may use, in help order."""
    return [a for a in Action if allowed(actor, a) is None]
