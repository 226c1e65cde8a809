"""What listeners read from the request context, and how the app's listeners are registered."""

from __future__ import annotations

import pytest
from slack_bolt import App, BoltContext

import handlers
from bot.services import Services
from handlers.context import SERVICES, actor_of, services_of
from tests.handlers.listeners import BOB


def test_services_of_names_the_missing_middleware() -> None:
    with pytest.raises(RuntimeError, match="ProvideServices"):
        services_of(BoltContext({SERVICES: "not services"}))


def test_the_services_survive_the_copy_bolt_makes_for_lazy_listeners(services: Services) -> None:
    context = BoltContext({SERVICES: services, "actor": BOB, "user_id": BOB.id})
    copied = context.to_copyable()
    assert services_of(copied) is services  # shared, not a deep copy of the store and platform
    assert actor_of(copied) == BOB


def test_actor_of_without_the_permission_middleware_has_no_roles() -> None:
    actor = actor_of(BoltContext({"user_id": "UX"}))
    assert (actor.id, actor.roles) == ("UX", frozenset())


def test_registering_needs_no_services_and_lazy_names_are_distinct() -> None:
    app = App(signing_secret="s", token="xoxb-t", token_verification_enabled=False)
    handlers.register(app)
    listeners = app._listeners
    lazy = [f.__name__ for listener in listeners for f in listener.lazy_functions]
    # Lambda re-invokes a lazy listener by its function's name: two alike would run the wrong one
    assert len(lazy) == len(set(lazy)) and len(lazy) >= 6
    assert len(listeners) == 17  # /mlops, fourteen buttons, the approve and reject modals
