"""The incoming-event routes every runtime mounts: EventBridge, GitHub and CI.

Every route authenticates before it parses (401, and nothing posted, otherwise), answers 400
with the reasons for a malformed body, and deduplicates through the store so that a retried
delivery acts once. Work that blocks (store, platform, Slack) runs in the thread pool.
"""

from __future__ import annotations

from starlette.routing import Route

from bot.ingest import ci
from bot.notify import Notifier
from bot.services import Services

from .ci import ci_endpoint
from .eventbridge import PlatformHandler, eventbridge_endpoint
from .github import github_endpoint


def ingest_routes(
    services: Services,
    notifier: Notifier,
    *,
    verifier: ci.OIDCVerifier | None = None,
    platform_handler: PlatformHandler | None = None,
) -> list[Route]:
    """``POST /events/eventbridge``, ``POST /github/webhook`` and ``POST /ci/report``."""
    return [
        Route(
            "/events/eventbridge",
            eventbridge_endpoint(services, notifier, platform_handler),
            methods=["POST"],
        ),
        Route("/github/webhook", github_endpoint(services, notifier), methods=["POST"]),
        Route("/ci/report", ci_endpoint(services, notifier, verifier), methods=["POST"]),
    ]
