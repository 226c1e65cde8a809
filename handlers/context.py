"""What a listener reads from Bolt's context: the shared ``Services`` and the acting ``Actor``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.core.models import Actor
from bot.services import Services

__all__ = ["SERVICES", "actor_of", "services_of"]

#: the context key under which ``middleware.services.ProvideServices`` puts the services
SERVICES = "services"


def services_of(context: Mapping[str, Any]) -> Services:
    """The services of the app that received this request."""
    services = context.get(SERVICES)
    if not isinstance(services, Services):
        raise RuntimeError("no services in the request context: install ProvideServices first (app.use)")
    return services


def actor_of(context: Mapping[str, Any]) -> Actor:
    """The actor the permissions middleware resolved; an actor with no roles if it is missing."""
    actor = context.get("actor")
    if isinstance(actor, Actor):
        return actor
    return Actor(id=str(context.get("user_id") or "unknown"), name="")
