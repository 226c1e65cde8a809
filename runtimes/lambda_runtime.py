"""What one Lambda instance builds at cold start and keeps: services, Bolt app, notifier; and, from the
first request for them, the ingest routes (``runtimes.lambda_ingest``)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import boto3
from slack_bolt import App
from slack_bolt.adapter.aws_lambda import SlackRequestHandler
from slack_bolt.adapter.aws_lambda.lazy_listener_runner import LambdaLazyListenerRunner
from slack_sdk import WebClient

from bot.limits import Limits
from bot.notify import Notifier
from bot.services import Services, build_services
from bot.settings import ConfigError, Settings, load_settings
from handlers.middleware.edge import SlackEdge
from runtimes.assembly import build_notifier, create_app
from runtimes.lambda_secrets import load_secrets

if TYPE_CHECKING:
    from mangum import Mangum

log = logging.getLogger(__name__)

#: the health check's path (served with the ingest routes, ``runtimes.lambda_ingest``)
HEALTH_PATH = "/healthz"
#: Longest time an invocation spends sending queued Slack messages before it returns.
FLUSH_SECONDS = 20.0
#: Time kept back from the invocation's deadline for returning the response.
DEADLINE_MARGIN_SECONDS = 2.0
#: Outbox lease of one instance; short, since frozen instances hold it until it lapses.
LEASE_SECONDS = 10


@dataclass
class LambdaRuntime:
    """What one Lambda instance keeps between invocations."""

    services: Services
    app: App
    slack: SlackRequestHandler
    notifier: Notifier
    limits: Limits
    edge: SlackEdge
    #: Mangum over the ingest routes and the health check, and the loop it runs on: built by the
    #: first request for them, since Slack's requests (and so the cold start) need neither
    _ingest: tuple[Mangum, asyncio.AbstractEventLoop] | None = field(default=None, init=False, repr=False)
    _ingest_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def ingest_built(self) -> bool:
        """Whether a request for the ingest routes has built them yet."""
        with self._ingest_lock:
            return self._ingest is not None

    def ingest(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """One HTTP event (path without its stage) through the ingest routes."""
        with self._ingest_lock:
            if self._ingest is None:
                from runtimes.lambda_ingest import ingest_app

                self._ingest = ingest_app(self.services), asyncio.new_event_loop()
            app, loop = self._ingest
        asyncio.set_event_loop(loop)  # Mangum runs the app on the current thread's loop
        return dict(app(event, context))

    def dispatch_eventbridge(self, event: Mapping[str, Any]) -> str:
        """An EventBridge event invoked directly: parsed once, filtered, claimed, acted on."""
        from handlers.events.eventbridge import dispatch_eventbridge

        return dispatch_eventbridge(self.services, self.notifier, event)

    def close(self) -> None:
        self.notifier.close(timeout=0)
        self.services.close()
        with self._ingest_lock:
            if self._ingest is not None:
                self._ingest[1].close()

    def flush(self, context: Any) -> None:
        """Send what this invocation queued, within its deadline; leftovers stay in the outbox."""
        flush_notifier(self.notifier, context)


def flush_notifier(notifier: Notifier, context: Any) -> None:
    """Send what an invocation queued, within its deadline; leftovers stay in the outbox."""
    budget = FLUSH_SECONDS
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        budget = min(budget, remaining() / 1000 - DEADLINE_MARGIN_SECONDS)
    try:
        if budget > 0 and not notifier.flush(timeout=budget):
            log.warning("Slack outbox not empty after %.1f s; the next invocation carries on", budget)
    except Exception:
        log.exception("sending Slack notifications failed; they stay queued")
    finally:
        # Let another instance drain at once instead of waiting for this frozen one's lease.
        notifier.close(timeout=0)


def lambda_settings(settings: Settings | None = None, *, secrets_client: Any = None) -> Settings:
    """The tokens of the stack's secret, then the settings (unless given); the store must be DynamoDB."""
    if settings is None:
        load_secrets(client=secrets_client)
        settings = load_settings()
    if settings.mlops_store != "dynamodb":
        raise ConfigError(
            "MLOPS_STORE must be dynamodb on Lambda: instances share nothing else "
            f"(got {settings.mlops_store!r})"
        )
    return settings


def lambda_notifier(services: Services, client: WebClient) -> Notifier:
    """The notifier of one instance: no worker thread (a frozen instance cannot send), a short lease."""
    # Each invocation flushes what it queued.
    return build_notifier(services, client, start_worker=False, lease_seconds=LEASE_SECONDS)


def slack_client(settings: Settings) -> WebClient:
    settings.require("slack_bot_token")
    assert settings.slack_bot_token is not None
    return WebClient(token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url)


def build_runtime(
    settings: Settings | None = None,
    *,
    services: Services | None = None,
    client: WebClient | None = None,
    lambda_client: Any = None,
    secrets_client: Any = None,
) -> LambdaRuntime:
    """Secrets, settings, services, Bolt app and ingest routes, as one cold start builds them."""
    settings = lambda_settings(settings, secrets_client=secrets_client)
    settings.require("slack_bot_token", "slack_signing_secret")
    assert settings.slack_bot_token is not None and settings.slack_signing_secret is not None
    services = services or build_services(settings)
    if client is None:
        client = slack_client(settings)
    notifier = lambda_notifier(services, client)
    # auth.test at construction would add a Slack round trip to every cold start.
    app = create_app(services, client=client, process_before_response=True, token_verification_enabled=False)
    slack = SlackRequestHandler(app)
    runner = app.listener_runner.lazy_listener_runner
    if not isinstance(runner, LambdaLazyListenerRunner):
        raise TypeError(f"expected Bolt's Lambda lazy listener runner, got {type(runner).__name__}")
    # Created now rather than inside the first acknowledgement: a client loads its service model
    # (~12 ms for this one, after the store's client has loaded botocore's shared data).
    runner.lambda_client = lambda_client if lambda_client is not None else boto3.client("lambda")
    return LambdaRuntime(
        services=services,
        app=app,
        slack=slack,
        notifier=notifier,
        limits=Limits.from_settings(settings),
        edge=SlackEdge(settings.slack_signing_secret.get_secret_value()),
    )


R = TypeVar("R")


class InstanceRuntime(Generic[R]):
    """A Lambda instance's one runtime: built on first use (at import on Lambda), replaceable by tests."""

    def __init__(self, build: Callable[[], R]) -> None:
        self._build = build
        self._runtime: R | None = None
        self._lock = threading.Lock()

    def get(self) -> R:
        with self._lock:
            if self._runtime is None:
                self._runtime = self._build()
            return self._runtime

    def current(self) -> R | None:
        """The runtime if it was built, without building it."""
        with self._lock:
            return self._runtime

    def set(self, value: R | None) -> R | None:
        """Install ``value`` (None: build again on next use); returns the previous one."""
        with self._lock:
            previous, self._runtime = self._runtime, value
            return previous
