"""Who runs ``mlops-bot``: a local user on the local platform, the calling AWS principal elsewhere.

On the local platform everything lives on this machine, so ``--as NAME`` (or ``MLOPS_USER``)
picks a user of ``MLOPS_HOME/users.json``. With ``MLOPS_BACKEND=sagemaker`` or
``MLOPS_STORE=dynamodb`` the state is shared, and a file the caller writes proves nothing:
the CLI acts as the AWS principal whose credentials it runs with (``sts:GetCallerIdentity``),
mapped to a person by ``MLOPS_PEOPLE``. A principal of one of ``MLOPS_CI_ROLE_ARNS`` is CI,
acting for the GitHub user that ``GITHUB_ACTOR`` names (GitHub sets it on the runner; only a
workflow can assume those roles, through their OIDC trust policy).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.identity import IdentityMap, Person, github_identity, normalise_arn, role_of_arn
from bot.core.models import Actor
from bot.settings import Settings
from bot.users import actor_for, load_users, roles_for

__all__ = ["AsRefused", "Caller", "aws_caller", "local_actor", "resolve_actor"]

#: Release commands that change nothing: an unmapped principal may still use them.
READ_ONLY = frozenset({"status", "history", "audit", "drift"})


class AsRefused(ValueError):
    """``--as`` (or ``MLOPS_USER``) where only the AWS principal counts: a usage error."""


@dataclass(frozen=True)
class Caller:
    """The CLI's actor, or why it has none (an AWS principal nobody mapped)."""

    actor: Actor | None
    refusal: str = ""


def local_actor(settings: Settings, name: str | None) -> Actor | None:
    """The local user called ``name`` (None when no name is given); ValueError for an unknown name."""
    users = load_users(settings.mlops_home)
    if name is None:
        return None
    if name not in users:
        raise ValueError(
            f"unknown user {name!r}; local users: {', '.join(sorted(users))} "
            f"(edit {settings.mlops_home / 'users.json'})"
        )
    return actor_for(users[name], settings.mlops_roles)


def aws_caller(settings: Settings, caller_arn: str, environ: Mapping[str, str] | None = None) -> Caller:
    """The actor for the principal ``caller_arn`` (as ``sts:GetCallerIdentity`` gave it)."""
    env = os.environ if environ is None else environ
    arn = normalise_arn(caller_arn)
    people = IdentityMap.from_config(settings.mlops_people)
    if role_of_arn(arn) in settings.mlops_ci_role_arns:
        login = env.get("GITHUB_ACTOR", "").strip()
        if not login:
            return Caller(None, f"{arn} is a CI role, but GITHUB_ACTOR does not say for whom it acts")
        identity = github_identity(login)
        person = people.person_of(identity)
        if person is None:
            return Caller(
                None, f"CI acts for GitHub user {login!r}, who is not in the identity map (MLOPS_PEOPLE)"
            )
        return Caller(
            Actor(
                arn,
                f"CI ({person.name}, {identity})",
                _roles(person, settings),
                on_behalf_of=identity,
                groups=frozenset(person.groups),
            )
        )
    person = people.person_of(arn)
    if person is None:
        return Caller(
            None,
            f"the AWS principal {arn} is not in the identity map (MLOPS_PEOPLE): ask an admin to add it "
            'to your entry, e.g. {"you": {"aws": ["' + arn + '"]}}',
        )
    return Caller(Actor(arn, person.name, _roles(person, settings), groups=frozenset(person.groups)))


def _roles(person: Person, settings: Settings) -> frozenset[Any]:
    return roles_for(person.groups, settings.mlops_roles)


def caller_arn(settings: Settings) -> str:
    """``sts:GetCallerIdentity`` with the credentials the CLI runs with."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        # A session of its own: the credentials the process runs with now, not ones cached earlier.
        sts = boto3.session.Session().client(
            "sts",
            region_name=settings.aws_region,
            config=Config(retries={"mode": settings.mlops_aws_retry_mode, "total_max_attempts": 3}),
        )
        return str(sts.get_caller_identity()["Arn"])
    except (BotoCoreError, ClientError) as exc:
        raise PermissionError(
            f"cannot tell which AWS principal runs the CLI: sts:GetCallerIdentity failed ({exc})"
        ) from exc


def resolve_actor(
    settings: Settings,
    name: str | None,
    command: str,
    *,
    who_calls: Callable[[Settings], str] = caller_arn,
) -> Actor | None:
    """The actor of a release command; raises AsRefused or PermissionError (refused, with why)."""
    if settings.local_platform:
        return local_actor(settings, name)
    if name is not None:
        raise AsRefused(
            f"--as and MLOPS_USER name local users, and work on the local platform only; with "
            f"MLOPS_BACKEND={settings.mlops_backend} and MLOPS_STORE={settings.mlops_store} the CLI acts as "
            "the AWS principal whose credentials it runs with (see `aws sts get-caller-identity`). "
            "Drop --as (and unset MLOPS_USER)."
        )
    caller = aws_caller(settings, who_calls(settings))
    if caller.actor is None and command not in READ_ONLY:
        raise PermissionError(caller.refusal)
    return caller.actor
