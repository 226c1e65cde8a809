"""Fixtures for the Slack app: the local Slack, signed requests, and services.

Slack is the shared LocalSlack (``tests/local_slack.py``) with the users below; the ML platform is the
real local one, on a private copy of a home where v1 is Approved and serves staging and production and
v2 awaits approval (``tests.conftest``).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from bot.notify import Notifier
from bot.services import Services, build_services
from bot.settings import load_settings
from bot.store.sqlite import SQLiteStore
from bot.users import LocalUser
from handlers.middleware.roles import RoleResolver, role_directory
from ml.local import LocalPlatform
from ml.platform import MLPlatform
from runtimes.assembly import create_app
from runtimes.slack_local import LocalSlack
from runtimes.terminal import TrackingExecutor, track_listeners
from tests.conftest import Closer, copy_home, platform_state

SECRET = "test-signing-secret"
TOKEN = "xoxb-test"
CHANNEL = "C0MLOPS"

#: Slack user id -> (user name, user groups)
USERS: dict[str, tuple[str, list[str]]] = {
    "UALICE": ("alice", ["ml-team"]),
    "UBOB": ("bob", ["ml-approvers"]),
    "UCAROL": ("carol", ["ml-leads", "ml-oncall"]),
    "UDAVE": ("dave", ["ml-oncall"]),
    "UROSE": ("rose", ["ml-leads"]),
    "UERIN": ("erin", []),
}


@dataclass
class Harness:
    """A Slack app wired to the local Slack, plus helpers to send it signed requests."""

    app: App
    slack: LocalSlack
    services: Services
    roles: RoleResolver | None = None
    executor: TrackingExecutor | None = None

    # -- signed requests -----------------------------------------------------------------
    @staticmethod
    def headers(body: str, timestamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
        return {
            "content-type": "application/x-www-form-urlencoded",
            "x-slack-request-timestamp": ts,
            "x-slack-signature": signature,
        }

    def command_body(self, text: str, user: str = "UCAROL", trigger: str | None = None) -> str:
        return urlencode(
            {
                "command": "/mlops",
                "text": text,
                "user_id": user,
                "user_name": USERS.get(user, ("someone", []))[0],
                "team_id": "T1",
                "channel_id": CHANNEL,
                "response_url": self.slack.response_url(CHANNEL, user),
                "trigger_id": trigger or f"trig-{time.monotonic_ns()}",
            }
        )

    def action_body(self, action_id: str, value: str, user: str = "UCAROL", message_ts: str = "1.0") -> str:
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": USERS.get(user, ("someone", []))[0], "team_id": "T1"},
            "team": {"id": "T1"},
            "channel": {"id": CHANNEL},
            "container": {"type": "message", "message_ts": message_ts, "channel_id": CHANNEL},
            "message": {"ts": message_ts},
            "trigger_id": f"trig-{time.monotonic_ns()}",
            "response_url": self.slack.response_url(CHANNEL, user, message_ts),
            "actions": [{"action_id": action_id, "block_id": "b", "value": value, "type": "button"}],
        }
        return urlencode({"payload": json.dumps(payload)})

    def view_body(
        self, version: Any, reason: str, user: str = "UBOB", callback_id: str = "reject_reason"
    ) -> str:
        payload = {
            "type": "view_submission",
            "user": {"id": user, "username": USERS.get(user, ("someone", []))[0], "team_id": "T1"},
            "team": {"id": "T1"},
            "trigger_id": f"trig-{time.monotonic_ns()}",
            "view": {
                "id": "V1",
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": json.dumps({"v": version, "channel": CHANNEL}),
                "state": {"values": {"reason": {"reason": {"type": "plain_text_input", "value": reason}}}},
            },
        }
        return urlencode({"payload": json.dumps(payload)})

    def dispatch(self, body: str, headers: dict[str, str] | None = None) -> BoltResponse:
        response: BoltResponse = self.app.dispatch(
            BoltRequest(body=body, headers=headers or self.headers(body))
        )
        return response

    def command(self, text: str, user: str = "UCAROL") -> BoltResponse:
        return self.dispatch(self.command_body(text, user))

    def click(self, action_id: str, value: str, user: str = "UCAROL") -> BoltResponse:
        return self.dispatch(self.action_body(action_id, value, user))

    def respond_count(self) -> int:
        return len(self.slack.responses())

    def wait_responses(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        self.slack.wait_for(lambda: self.respond_count() >= count, timeout, f"{count} responses")
        return self.slack.responses()

    def settle(self) -> None:
        """Wait until the platform's events so far were handled and their notifications posted."""
        platform = self.services.platform
        assert isinstance(platform, LocalPlatform)
        assert platform.flush_events(), "platform events were not delivered"
        notifier = self.services.notifier
        assert notifier is not None and notifier.flush(timeout=20), "the Slack outbox did not drain"

    def idle(self) -> None:
        """Wait until every lazy listener has finished and what they queued for Slack was sent: after
        this, a request that was going to change something has changed it."""
        assert self.executor is not None, "this harness runs listeners on a pool it cannot watch"
        assert self.executor.wait_idle(60), "listener tasks still running after 60 s"
        notifier = self.services.notifier
        assert notifier is not None and notifier.flush(timeout=20), "the Slack outbox did not drain"

    def state(self) -> tuple[Any, ...]:
        """Everything a refused request must leave unchanged (the audit excepted)."""
        store = self.services.store
        kept = tuple(
            tuple(store.query(ns)) for ns in ("decision", "deployment", "validation", "inflight", "message")
        )
        return (platform_state(self.services.platform), kept)


@pytest.fixture
def local_slack_options() -> dict[str, Any]:
    users = [LocalUser(uid, name, tuple(groups)) for uid, (name, groups) in USERS.items()]
    return {"users": users, "token": TOKEN, "channels": {"mlops": CHANNEL}}


def make_services(home: Path, platform: MLPlatform | None = None, **overrides: Any) -> Services:
    """Services as ``mlops-bot serve`` builds them on ``home``: the local platform, endpoints in process
    (or ``platform``, such as one whose rollouts the test scripts)."""
    settings = load_settings(
        slack_bot_token="xoxb-test",
        slack_signing_secret=SECRET,
        mlops_home=home,
        mlops_channel=CHANNEL,
        **overrides,
    )
    return build_services(
        settings, platform=platform, store=SQLiteStore(home / "bot.db"), host_endpoints_in_process=True
    )


def make_harness(slack: LocalSlack, services: Services, **kwargs: Any) -> Harness:
    client = WebClient(token=TOKEN, base_url=slack.api_url)
    # Slack's real pacing (about one post per second) would only slow the tests down.
    services.notifier = Notifier(  # type: ignore[attr-defined]
        client,
        services.store,
        CHANNEL,
        post_rate=1000,
        post_burst=1000,
        update_rate=1000,
        update_burst=1000,
        backoff_base=0.05,
        backoff_max=0.2,
        idle_poll=0.05,
    )
    if "roles" not in kwargs:  # as create_app builds it, warmed up before the first request
        kwargs["roles"] = role_directory(client, services.settings)
        assert kwargs["roles"].refresh().wait(60), "the user groups did not load"
    app = create_app(services, client=client, **kwargs)
    executor = track_listeners(app)
    return Harness(app, slack, services, kwargs["roles"], executor)


@contextmanager
def harness_with(
    release_home: Path, local_slack: LocalSlack, close_later: Closer, **settings: Any
) -> Iterator[Harness]:
    """The release home's app with ``settings`` over the test defaults; drained and closed after."""
    services = make_services(release_home, **settings)
    h = make_harness(local_slack, services)
    try:
        yield h
    finally:
        drain(h.app, services)
        close_later(services.close)


@pytest.fixture
def harness(release_home: Path, local_slack: LocalSlack, close_later: Closer) -> Iterator[Harness]:
    with harness_with(release_home, local_slack, close_later) as h:
        yield h


@pytest.fixture
def fresh_harness(
    release_template: Path, local_slack_options: dict[str, Any], tmp_path: Path, close_later: Closer
) -> Callable[[], AbstractContextManager[Harness]]:
    """For hypothesis: each example gets its own Slack and its own copy of the release home, so no
    example starts from what an earlier one changed."""
    examples = itertools.count()

    @contextmanager
    def build() -> Iterator[Harness]:
        slack = LocalSlack(**local_slack_options).start()
        services = make_services(copy_home(release_template, tmp_path / f"example-{next(examples)}"))
        h = make_harness(slack, services)
        try:
            yield h
        finally:
            drain(h.app, services)
            close_later(services.close, slack.close)

    return build


def drain(app: App, services: Services | None = None) -> None:
    """Wait for background work (lazy listeners, then notifications) so nothing outlives the test."""
    app.listener_runner.listener_executor.shutdown(wait=True)
    notifier = getattr(services, "notifier", None)
    if notifier is not None:
        notifier.close(timeout=10)


@pytest.fixture
def services(release_home: Path, close_later: Closer) -> Iterator[Services]:
    """Services on a copy of the release home, for calling listener functions directly."""
    built = make_services(release_home)
    yield built
    close_later(built.close)
