"""Model Package State Change events carrying registry stages: an outside change is rendered once, in the
version's thread and on its card; the bot's own stage changes are never announced again."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from typing import Any

from handlers.notifications import handle_platform_event
from ml.platform import LifeCycle
from tests.conftest import CAROL
from tests.handlers.events.conftest import EVENTS_TOKEN, Env, fixture, make_client

AUTH = {"Authorization": f"Bearer {EVENTS_TOKEN}", "Content-Type": "application/json"}


def stage_event(event_id: str, version: int, life: LifeCycle) -> dict[str, Any]:
    """A package event as SageMaker sends one after UpdateModelPackage with ModelLifeCycle."""
    event = fixture("eb_model_package_approved.json")
    arn = event["detail"]["ModelPackageArn"].rsplit("/", 1)[0] + f"/{version}"
    event["id"] = event_id
    event["resources"] = [arn]
    event["detail"].update(
        ModelPackageVersion=str(version),
        ModelPackageArn=arn,
        ModelLifeCycle=life.request(),
        UpdatedModelPackageFields=["ModelLifeCycle"],
    )
    return event


def post(env: Env, event: dict[str, Any]) -> list[str]:
    response = env.client.post("/events/eventbridge", json.dumps(event), AUTH)
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


def stage_replies(env: Env) -> list[str]:
    return [m.text for m in env.messages() if m.thread_ts is not None and "registry stage" in m.text]


def card_text(env: Env, version: int) -> str:
    cards = [m for m in env.top_level() if f"Model v{version}" in json.dumps(m.blocks)]
    assert cards, f"no card for v{version}"
    return json.dumps(cards[-1].blocks)


def test_an_outside_stage_change_is_rendered_once_and_the_bots_own_never(env: Env) -> None:
    env.client = make_client(
        env.services, env.notifier, env.delegated, platform_handler=handle_platform_event
    )
    release = env.services.release
    assert release.deploy(CAROL, 2, "staging").ok
    own = env.platform.describe_model_package(2).life_cycle
    assert own is not None and (own.stage, own.status) == ("Staging", "InProgress")

    assert post(env, stage_event("own-1", 2, own)) == ["delegated"]
    assert stage_replies(env) == []  # the bot's own change: the card refreshes, nothing is said
    assert "Staging/InProgress" in card_text(env, 2)

    outside = LifeCycle("QA", "OnHold", "held for the <!channel> risk review")
    env.platform.update_life_cycle(2, outside)  # as in SageMaker Studio
    assert post(env, stage_event("outside-1", 2, outside)) == ["delegated"]
    assert post(env, stage_event("outside-1", 2, outside)) == ["duplicate"]
    assert post(env, stage_event("outside-2", 2, outside)) == ["delegated"]  # same change, another id
    replies = stage_replies(env)
    assert len(replies) == 1, replies
    assert "v2's registry stage is now *QA/OnHold* (changed outside mlops-bot)" in replies[0]
    assert "&lt;!channel&gt;" in replies[0] and "<!channel>" not in replies[0]
    card = card_text(env, 2)
    assert "QA/OnHold" in card and "Staging/InProgress" not in card


def test_a_new_version_without_a_stage_is_given_development(env: Env) -> None:
    """SageMaker's pipeline registers without a stage: the first package event gives it one, quietly."""
    env.client = make_client(
        env.services, env.notifier, env.delegated, platform_handler=handle_platform_event
    )
    with closing(sqlite3.connect(env.platform.home / "registry.db", timeout=10)) as db, db:
        db.execute("UPDATE model_packages SET stage = NULL, stage_status = NULL WHERE version = 3")
    assert env.platform.describe_model_package(3).life_cycle is None
    event = stage_event("new-3", 3, LifeCycle("unused", "unused"))
    del event["detail"]["ModelLifeCycle"]
    assert post(env, event) == ["delegated"]
    given = env.platform.describe_model_package(3).life_cycle
    assert given is not None and (given.stage, given.status) == ("Development", "Approved")
    assert stage_replies(env) == []
    assert "Development/Approved" in card_text(env, 3)
