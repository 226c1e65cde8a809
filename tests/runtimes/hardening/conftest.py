"""The hardening bench: the whole Slack app on LocalSlack, with distinctive secrets and fault hooks.

``Bench`` is the app as ``mlops-bot serve`` builds it (permission middleware, every listener, the
durable notifier, the ingest routes), wired to a ``LocalSlack`` whose bot token is a per-session
random secret, so that a leak of any secret can be searched for verbatim. Background work runs on
a ``TrackingExecutor`` so a test can wait until every lazy listener has finished before it checks
state or logs.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette

from bot.core.models import Action, Outcome
from bot.core.store import Record, Store, StoreError
from bot.notify import Notifier
from bot.services import Services, build_services
from bot.settings import Settings
from bot.store.sqlite import SQLiteStore
from bot.users import LocalUser, user_id
from handlers.middleware.roles import role_directory
from ml.platform import ENVIRONMENTS, NotFound
from runtimes.assembly import create_app, incoming_routes
from runtimes.http_server import build_asgi
from runtimes.slack_local import LocalSlack
from runtimes.terminal import TrackingExecutor, track_listeners
from tests.conftest import Closer
from tests.handlers.events.conftest import Issuer, issuer_server, rsa_keys
from tests.local_slack import AnswerLog
from tests.serving import http_server

__all__ = [
    "REPO",
    "STATE_NAMESPACES",
    "USERS",
    "Bench",
    "FlakyStore",
    "RecordingNotifier",
    "Secrets",
    "confirm_value",
    "done_count",
    "http_server",
    "issuer_server",
    "make_bench",
    "rsa_keys",
    "wait_confirmation",
    "wait_done",
]

REPO = "acme-ml/mlops-models"

#: Local users and their Slack user groups (the default MLOPS_ROLES map groups to roles).
USERS: dict[str, tuple[str, ...]] = {
    "alice": ("ml-team",),
    "bob": ("ml-approvers",),
    "carol": ("ml-leads", "ml-oncall"),
    "dave": ("ml-oncall",),
    "frank": ("ml-team", "ml-approvers"),  # may train and approve: the four-eyes rule applies
    "erin": (),
}

#: Store namespaces that hold release state; a refused request must leave them as they were.
STATE_NAMESPACES = ("decision", "deployment", "validation", "inflight")


@dataclass(frozen=True)
class Secrets:
    """Every credential the bot is configured with, random per test session."""

    bot_token: str = field(default_factory=lambda: "xoxb-hard-" + secrets.token_hex(12), repr=False)
    signing_secret: str = field(default_factory=lambda: "sign" + secrets.token_hex(14), repr=False)
    app_token: str = field(default_factory=lambda: "xapp-1-hard-" + secrets.token_hex(12), repr=False)
    github_secret: str = field(default_factory=lambda: "ghsec" + secrets.token_hex(12), repr=False)
    events_token: str = field(default_factory=lambda: "evtok" + secrets.token_hex(12), repr=False)

    def values(self) -> dict[str, str]:
        return {
            "bot token": self.bot_token,
            "signing secret": self.signing_secret,
            "app token": self.app_token,
            "GitHub webhook secret": self.github_secret,
            "events token": self.events_token,
        }


@dataclass(frozen=True)
class Queued:
    op: str  # "upsert" or "reply"
    key: str  # message key, or the thread key of a reply
    text: str
    blocks: list[dict[str, Any]] | None
    thread_key: str | None = None


class RecordingNotifier(Notifier):
    """The real notifier, remembering everything it was asked to send, in order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.queued: list[Queued] = []
        self._record_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def upsert(
        self, key: str, text: str, blocks: list[dict[str, Any]], thread_key: str | None = None
    ) -> None:
        with self._record_lock:
            super().upsert(key, text, blocks, thread_key)
            self.queued.append(Queued("upsert", key, text, blocks, thread_key))

    def reply(self, thread_key: str, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        with self._record_lock:
            super().reply(thread_key, text, blocks)
            self.queued.append(Queued("reply", thread_key, text, blocks))


class FlakyStore:
    """A store whose ``fail_at``-th write from now raises ``StoreError`` without writing."""

    WRITES = ("put", "put_if_absent", "replace_if", "delete")

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.writes: list[tuple[str, str, str]] = []  # (method, ns, key) of every write attempted
        self._fail_at: int | None = None
        self.failed: tuple[str, str, str] | None = None

    def arm(self, nth: int | None) -> None:
        """Make the ``nth`` write from now (1-based) fail; None disarms."""
        self._fail_at = None if nth is None else len(self.writes) + nth
        self.failed = None

    def _write(self, method: str, ns: str, key: str) -> None:
        self.writes.append((method, ns, key))
        if self._fail_at is not None and len(self.writes) == self._fail_at:
            self._fail_at = None
            self.failed = (method, ns, key)
            raise StoreError(f"injected failure of {method} {ns}/{key}")

    def get(self, ns: str, key: str) -> Record | None:
        return self.inner.get(ns, key)

    def put(self, ns: str, key: str, value: Record, ttl_seconds: int | None = None) -> None:
        self._write("put", ns, key)
        self.inner.put(ns, key, value, ttl_seconds)

    def put_if_absent(self, ns: str, key: str, value: Record, ttl_seconds: int | None = None) -> bool:
        self._write("put_if_absent", ns, key)
        return self.inner.put_if_absent(ns, key, value, ttl_seconds)

    def replace_if(self, ns: str, key: str, expected: Record, value: Record) -> bool:
        self._write("replace_if", ns, key)
        return self.inner.replace_if(ns, key, expected, value)

    def delete(self, ns: str, key: str) -> None:
        self._write("delete", ns, key)
        self.inner.delete(ns, key)

    def query(
        self,
        ns: str,
        prefix: str = "",
        *,
        limit: int | None = None,
        newest_first: bool = False,
        after: str | None = None,
    ) -> list[tuple[str, Record]]:
        return self.inner.query(ns, prefix, limit=limit, newest_first=newest_first, after=after)

    def close(self) -> None:
        self.inner.close()


@dataclass
class Bench:
    slack: AnswerLog
    services: Services
    app: App
    notifier: RecordingNotifier
    secrets: Secrets
    executor: TrackingExecutor
    channel: str

    # -- signed Slack requests -------------------------------------------------------------
    def headers(
        self, body: str, *, timestamp: int | None = None, secret: str | None = None
    ) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signer = SignatureVerifier(secret if secret is not None else self.secrets.signing_secret)
        return {
            "content-type": "application/x-www-form-urlencoded",
            "x-slack-request-timestamp": ts,
            "x-slack-signature": str(signer.generate_signature(timestamp=ts, body=body)),
        }

    def _user(self, name: str) -> dict[str, str]:
        return {"id": user_id(name), "username": name, "name": name, "team_id": "T0LOCAL01"}

    def response_url(self, user: str) -> str:
        """A response URL of its own for one request of ``user``."""
        return self.slack.response_url(self.channel, user_id(user))

    def command_body(self, text: str, user: str, response_url: str | None = None) -> str:
        return urlencode(
            {
                "command": "/mlops",
                "text": text,
                "user_id": user_id(user),
                "user_name": user,
                "team_id": "T0LOCAL01",
                "channel_id": self.channel,
                "response_url": response_url or self.response_url(user),
                "trigger_id": self.slack.issue_trigger(user_id(user)),
            }
        )

    def interaction_payload(
        self, action_id: str, value: str, user: str, response_url: str | None = None
    ) -> dict[str, Any]:
        return {
            "type": "block_actions",
            "user": self._user(user),
            "team": {"id": "T0LOCAL01"},
            "channel": {"id": self.channel},
            "container": {"type": "message", "message_ts": "1.0", "channel_id": self.channel},
            "message": {"ts": "1.0"},
            "trigger_id": self.slack.issue_trigger(user_id(user)),
            "response_url": response_url or self.response_url(user),
            "actions": [{"action_id": action_id, "block_id": "b", "value": value, "type": "button"}],
        }

    def action_body(self, action_id: str, value: str, user: str, response_url: str | None = None) -> str:
        payload = self.interaction_payload(action_id, value, user, response_url)
        return urlencode({"payload": json.dumps(payload)})

    def view_payload(self, private_metadata: Any, values: Any, user: str) -> dict[str, Any]:
        return {
            "type": "view_submission",
            "user": self._user(user),
            "team": {"id": "T0LOCAL01"},
            "trigger_id": self.slack.issue_trigger(user_id(user)),
            "view": {
                "id": "V0HARD",
                "type": "modal",
                "callback_id": "reject_reason",
                "private_metadata": private_metadata,
                "state": {"values": values},
            },
        }

    def view_body(self, private_metadata: Any, values: Any, user: str) -> str:
        return urlencode({"payload": json.dumps(self.view_payload(private_metadata, values, user))})

    def dispatch(self, body: str, headers: dict[str, str] | None = None) -> BoltResponse:
        signed: dict[str, str | Sequence[str]] = dict(headers or self.headers(body))
        response: BoltResponse = self.app.dispatch(BoltRequest(body=body, headers=signed))
        return response

    # -- observing ---------------------------------------------------------------------------
    def settle(self, timeout: float = 60.0) -> None:
        """Wait for every lazy listener to finish."""
        assert self.executor.wait_idle(timeout), f"listener tasks still running after {timeout} s"

    def responses(self) -> list[dict[str, Any]]:
        """Everything posted to response URLs (ephemeral answers), oldest first."""
        return [c.args for c in self.slack.calls("response_url")]

    def wait_until(self, check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
        """Wait until ``check()`` is truthy and return it, re-checking after every change the bench sees.

        Slack traffic, release results, platform events and finished listener tasks all wake it;
        ``timeout`` only bounds a wait for something that never happens.
        """
        return self.slack.wait_for(check, timeout, what)

    def state(self) -> tuple[Any, ...]:
        """Release state: registry, endpoints and the store's release namespaces (not the audit)."""
        platform = self.services.platform
        packages = tuple((p.version, p.approval_status.value) for p in platform.list_model_packages())
        endpoints = []
        for env in ENVIRONMENTS:
            try:
                endpoints.append(platform.describe_endpoint(env).version)
            except NotFound:
                endpoints.append(None)
        store = self.services.store
        kept = tuple(tuple(store.query(ns)) for ns in STATE_NAMESPACES)
        return (packages, tuple(endpoints), kept)

    def close(self, later: Closer | None = None) -> None:
        """Stop the app; with ``later``, the platform, store and Slack server stop in the background."""
        self.settle()
        self.executor.shutdown(wait=True)
        self.notifier.close(timeout=10)
        # A role lookup still running (this app's, or a Lambda runtime's on the same Slack) would be
        # reset by the server's close and log an error into whichever test runs next.
        for thread in threading.enumerate():
            if thread.name == "mlops-role-refresh":
                thread.join(timeout=30)
        if later is None:
            self.services.close()
            self.slack.close()
        else:
            later(self.services.close, self.slack.close)


def done_count(bench: Bench, action: Action) -> int:
    return sum(
        1 for e in bench.services.release.audit(500) if e.action is action and e.outcome is Outcome.DONE
    )


def wait_done(bench: Bench, action: Action, count: int, timeout: float = 60.0) -> None:
    try:
        bench.wait_until(
            lambda: done_count(bench, action) >= count, f"{count} x {action.value} done", timeout
        )
    except AssertionError as exc:
        recent = [f"{e.action.value} {e.outcome.value}: {e.detail}" for e in bench.services.release.audit(5)]
        raise AssertionError(f"{exc}; the audit's latest entries: {recent}") from None


def confirm_value(response: dict[str, Any]) -> str:
    for block in response.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == "rollback_confirm":
                return str(element["value"])
    raise AssertionError(f"no rollback confirmation in {response}")


def wait_confirmation(bench: Bench, response_url: str) -> str:
    """The value of the rollback confirmation answered to the command that had ``response_url``.

    Answers are matched to requests by their response URL, never by arrival order: an earlier
    request's answer may land after a later request was sent.
    """
    answers = bench.wait_until(lambda: bench.slack.answers_to(response_url), "the rollback confirmation")
    assert len(answers) == 1, f"{len(answers)} answers to one rollback command: {answers}"
    return confirm_value(answers[0])


def bench_settings(secrets_: Secrets, slack: LocalSlack, home: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": secrets_.bot_token,
        "slack_signing_secret": secrets_.signing_secret,
        "slack_app_token": secrets_.app_token,
        "slack_api_url": slack.api_url,
        "github_webhook_secret": secrets_.github_secret,
        "events_token": secrets_.events_token,
        "github_repositories": [REPO],
        "ci_allowed_repositories": [REPO],
        "mlops_home": home,
        "mlops_channel": slack.channel_id("mlops"),
        # every Slack user is a person, also where users.json does not count (MLOPS_STORE=dynamodb)
        "mlops_people": {name: {"slack": [user_id(name)]} for name in USERS},
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def make_bench(
    home: Path,
    *,
    notifier_client: WebClient | None = None,
    slack: AnswerLog | None = None,
    secrets_: Secrets | None = None,
    store: Store | None = None,
    notifier_attempts: int = 8,
    **settings: Any,
) -> Bench:
    """The app on the local platform of ``home``, hosting its endpoints in process."""
    secrets_ = secrets_ or Secrets()
    if slack is None:
        users = [LocalUser(user_id(n), n, groups) for n, groups in USERS.items()]
        slack = AnswerLog(users, token=secrets_.bot_token, channels=("mlops",)).start()
    config = bench_settings(secrets_, slack, home, **settings)
    services = build_services(
        config,
        store=store or SQLiteStore(home / "bot.db"),
        host_endpoints_in_process=True,
    )
    channel = slack.channel_id("mlops")
    notifier = RecordingNotifier(
        notifier_client or slack.web_client(),
        services.store,
        channel,
        post_rate=1000,
        post_burst=1000,
        update_rate=1000,
        update_burst=1000,
        backoff_base=0.02,
        backoff_max=0.1,
        idle_poll=0.05,
        max_attempts=notifier_attempts,
    )
    services.notifier = notifier
    client = slack.web_client()
    # as a server start does: the user groups are loaded before the first request comes in
    roles = role_directory(client, config)
    assert roles.refresh().wait(60), "the user groups did not load"
    app = create_app(services, client=client, token_verification_enabled=False, roles=roles)
    executor = track_listeners(app, on_done=slack.poke)
    # every change a test may wait for wakes LocalSlack's waiters (Bench.wait_until)
    services.release.subscribe(lambda _result: slack.poke())
    services.platform.subscribe(lambda _event: slack.poke())
    return Bench(slack, services, app, notifier, secrets_, executor, channel)


def asgi_of(bench: Bench) -> Starlette:
    """The HTTP runtime's ASGI app (Slack, health, metrics and the ingest routes)."""
    return build_asgi(bench.app, bench.services, extra_routes=incoming_routes(bench.services))


@pytest.fixture
def issuer(issuer_server: Issuer) -> Issuer:
    return issuer_server
