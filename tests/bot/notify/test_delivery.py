"""One Slack call per step: a post whose answer is lost is not posted again inside that call.

slack_sdk's default ``WebClient`` retries a dropped connection once, inside the same call: the
notifier would never see the first attempt, and a post Slack took would appear twice. The assembly
gives the notifier its own client without retry handlers, so the outbox (which looks a maybe-sent
post up by its metadata first) decides what happens next.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient

from bot.notify import Notifier
from bot.services import build_services
from bot.settings import load_settings
from bot.store.sqlite import SQLiteStore
from handlers.middleware.roles import PermissionLookupError, Role
from runtimes.assembly import create_app, notifier_client
from runtimes.slack_local import Fault, LocalSlack
from tests.bot.conftest import FakeClock
from tests.bot.notify.conftest import TOKEN, blocks, drain

LOST = Fault(drop=True, accept=True)


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[SQLiteStore]:
    db = SQLiteStore(tmp_path / "bot.db", clock=clock)
    yield db
    db.close()


def bolt_client(slack: LocalSlack) -> WebClient:
    """A client as Bolt's app gets it: slack_sdk's default retry handlers."""
    return WebClient(token=TOKEN, base_url=slack.api_url, timeout=5)


def posts_of(slack: LocalSlack, text: str) -> int:
    return len([c for c in slack.ok_calls("chat.postMessage") if c.args.get("text") == text])


def test_a_dropped_connection_after_a_post_is_not_reposted_inside_one_call(
    slack: LocalSlack, clock: FakeClock, store: SQLiteStore
) -> None:
    # A channel ID: the lookup of a maybe-sent post reads conversations.*, which take IDs only.
    client = notifier_client(bolt_client(slack))
    notifier = Notifier(client, store, "C0MLOPS", start_worker=False, clock=clock)
    slack.inject("chat.postMessage", LOST)
    notifier.upsert("run:1", "run 1", blocks("run 1"))

    notifier.step()  # Slack takes the post; the connection drops before the answer

    assert posts_of(slack, "run 1") == 1
    assert notifier.pending() == 1  # still queued, marked as maybe sent
    drain(notifier, clock)
    assert posts_of(slack, "run 1") == 1  # found by its metadata, not posted again
    assert len(slack.by_text("run 1")) == 1
    ref = notifier.ref("run:1")
    assert ref is not None and ref[0] == "C0MLOPS"
    assert notifier.dead_letters() == []
    notifier.close(timeout=0)


def test_the_default_client_would_post_twice_inside_one_call(
    slack: LocalSlack, clock: FakeClock, store: SQLiteStore
) -> None:
    """Why the notifier needs its own client: the same fault through Bolt's kind of client."""
    notifier = Notifier(bolt_client(slack), store, "#mlops", start_worker=False, clock=clock)
    slack.inject("chat.postMessage", LOST)
    notifier.upsert("run:1", "run 1", blocks("run 1"))

    notifier.step()

    assert posts_of(slack, "run 1") == 2
    assert len(slack.by_text("run 1")) == 2
    notifier.close(timeout=0)


def test_notifier_client_keeps_the_token_and_url_and_drops_the_retries(slack: LocalSlack) -> None:
    original = bolt_client(slack)
    assert original.retry_handlers  # slack_sdk's default: retry on connection errors
    client = notifier_client(original)
    assert client is not original
    assert (client.token, client.base_url, client.timeout) == (TOKEN, slack.api_url, 5)
    assert client.retry_handlers == []


class NoRoles:
    """Role lookup that knows nobody (the test needs no Slack user groups)."""

    def roles_of(self, user_id: str) -> frozenset[Role]:
        return frozenset()

    def peek(self, user_id: str) -> tuple[frozenset[Role], PermissionLookupError | None]:
        return frozenset(), None


def test_the_assembly_builds_the_notifier_with_its_own_client(slack: LocalSlack, tmp_path: Path) -> None:
    settings = load_settings(
        mlops_home=tmp_path / "home",
        slack_bot_token=TOKEN,
        slack_signing_secret="assembly-test-signing-secret",
        slack_api_url=slack.api_url,
        mlops_channel="#mlops",
    )
    services = build_services(settings)
    try:
        assert services.notifier is None
        app = create_app(
            services, client=bolt_client(slack), token_verification_enabled=False, roles=NoRoles()
        )
        notifier = services.notifier
        assert isinstance(notifier, Notifier)
        assert notifier.client is not app.client
        assert isinstance(notifier.client, WebClient) and notifier.client.retry_handlers == []
        assert (notifier.client.token, notifier.client.base_url) == (TOKEN, slack.api_url)
        assert app.client.retry_handlers  # Bolt's own client is left as it was
        create_app(services, client=bolt_client(slack), token_verification_enabled=False, roles=NoRoles())
        assert services.notifier is notifier  # one notifier per services, however many apps
    finally:
        services.close()
