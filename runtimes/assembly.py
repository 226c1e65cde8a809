"""The one Bolt app every runtime serves unchanged (HTTP, Socket Mode, Lambda, terminal), and its routes.

Listeners and incoming-event routes come from ``handlers``, imported by name: every runtime gets
the same ones.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient

import handlers
from bot.notify import Notifier
from bot.services import Services
from handlers import notifications
from handlers.middleware.form_body import CommandFormBody
from handlers.middleware.payload_shape import PayloadShape
from handlers.middleware.permissions import permission_middleware
from handlers.middleware.roles import RoleResolver, role_directory
from handlers.middleware.services import ProvideServices
from runtimes import lazy_requests

if TYPE_CHECKING:
    from starlette.routing import Route

log = logging.getLogger(__name__)

__all__ = [
    "LISTENER_THREADS",
    "AckFirst",
    "build_notifier",
    "create_app",
    "incoming_routes",
    "notifier_client",
]

T = TypeVar("T")

#: Bolt runs ack functions and lazy (slow) work on one executor: size it so that a few
#: slow deploys cannot delay the acknowledgement of the next command.
LISTENER_THREADS = 32


class AckFirst(Executor):
    """Runs background (lazy) listener work only while no Slack request waits for its ack.

    The GIL makes every busy thread slow the others, and an ack has a 3-second deadline
    where background work has none: so background work yields to acks, for at most
    ``max_defer_seconds``, then runs regardless (it is never starved).
    """

    def __init__(self, workers: int = 4, max_defer_seconds: float = 2.0) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mlops-background")
        self._idle = threading.Condition()
        self._acking = 0
        self.max_defer_seconds = max_defer_seconds

    @property
    def acks_in_flight(self) -> int:
        with self._idle:
            return self._acking

    @contextmanager
    def acking(self) -> Iterator[None]:
        with self._idle:
            self._acking += 1
        try:
            yield
        finally:
            with self._idle:
                self._acking -= 1
                if self._acking == 0:
                    self._idle.notify_all()

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        def when_idle() -> T:
            deadline = time.monotonic() + self.max_defer_seconds
            with self._idle:
                while self._acking and (left := deadline - time.monotonic()) > 0:
                    self._idle.wait(left)
            return fn(*args, **kwargs)

        return self._pool.submit(when_idle)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


def incoming_routes(services: Services) -> list[Route]:
    """Starlette routes for EventBridge, GitHub and CI (after ``create_app`` set up the notifier)."""
    if services.notifier is None:
        raise RuntimeError("create the Slack app first: the routes announce through its notifier")
    # Imported here: Starlette and the routes are no part of a Slack-only runtime's start (Lambda).
    from handlers.events import ingest_routes

    return ingest_routes(services, services.notifier)


def notifier_client(client: WebClient) -> WebClient:
    """A Web API client for the notifier: ``client``'s token, URL and transport, without retries.

    The outbox retries by itself, and first looks a maybe-sent post up by its metadata; slack_sdk's
    default connection-error retry would post again inside one call, where nothing looks first.
    """
    return WebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        ssl=client.ssl,
        proxy=client.proxy,
        headers=dict(client.headers),
        retry_handlers=[],
    )


def build_notifier(services: Services, client: WebClient, **options: Any) -> Notifier:
    """The services' one notifier (built on first call), posting through its own ``notifier_client``.

    ``options`` go to ``Notifier`` (Lambda: no worker thread, a shorter lease).
    """
    if services.notifier is None:
        services.notifier = Notifier(
            notifier_client(client), services.store, services.settings.mlops_channel, **options
        )
    return services.notifier


def _ack_unknown(ack: Any, body: dict[str, Any]) -> None:
    """Buttons and modals from older message versions: acknowledge rather than error."""
    actions = body.get("actions") or [{}]
    log.warning(
        "unhandled %s %s",
        body.get("type"),
        actions[0].get("action_id")
        if isinstance(actions[0], dict)
        else (body.get("view") or {}).get("callback_id"),
    )
    ack()


def _on_error(error: Exception, body: dict[str, Any]) -> BoltResponse | None:
    log.error("listener failed on %s: %r", body.get("type") or body.get("command"), error, exc_info=error)
    return None


def create_app(
    services: Services,
    *,
    client: WebClient | None = None,
    process_before_response: bool = False,
    token_verification_enabled: bool = True,
    listener_executor: Executor | None = None,
    roles: RoleResolver | None = None,
) -> App:
    """Build the Bolt app and the notifier: the services and permissions middleware first, then every
    listener; results and platform events are posted through the notifier.

    ``client`` overrides the Web API client (tests point it at a local server);
    ``process_before_response=True`` acks inline and leaves slow work to lazy listeners
    (Lambda, and the HTTP server with an ``AckFirst`` executor for that work). ``roles``
    overrides the role lookup (tests give one with their own clock).
    """
    settings = services.settings
    settings.require("slack_signing_secret")
    if client is None:
        settings.require("slack_bot_token")
        assert settings.slack_bot_token is not None
        client = WebClient(token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url)
    assert settings.slack_signing_secret is not None
    app = App(
        # named, or Bolt names the app after its caller's file through inspect.stack(), which reads
        # the source of every frame on the stack
        name="mlops-bot",
        client=client,
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        process_before_response=process_before_response,
        token_verification_enabled=token_verification_enabled,
        raise_error_for_unhandled_request=False,
        listener_executor=listener_executor
        or ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="mlops-listener"),
    )
    lazy_requests.install(app)  # before app.error, which sets the runner's error handler
    for role in settings.empty_roles():
        log.warning("MLOPS_ROLES maps role %r to no Slack user group: nobody can use its actions", role.value)
    directory = roles
    if directory is None:
        directory = role_directory(client, settings)
        directory.refresh()  # warm the cache in the background: the first command finds roles known
    app.use(ProvideServices(services))  # first: middleware and listeners read the services from the context
    app.use(CommandFormBody())  # a command whose text says "payload" is still a command
    app.use(PayloadShape())  # before the permission check, which reads the payload too
    app.use(permission_middleware(services, directory))
    app.error(_on_error)
    build_notifier(services, client)  # closed (after a flush) with the services
    notifications.subscribe(services)
    handlers.register(app)
    # Registered last: Bolt runs the first listener that matches.
    app.action(re.compile(".*"))(_ack_unknown)
    app.view(re.compile(".*"))(_ack_unknown)
    return app
