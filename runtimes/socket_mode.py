"""The Socket Mode runtime: the bot connects out to Slack over a WebSocket (no public URL needed).

Slack sends each event to one of the open connections, so several replicas can run side by side;
their shared state (and the Slack outbox lease) lives in the store. GitHub, CI and EventBridge
intake need an HTTP endpoint and are served by ``mlops-bot serve`` (or Lambda) instead.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from pydantic import SecretStr

from bot.services import Services, build_services
from bot.settings import ConfigError, Settings

log = logging.getLogger(__name__)

__all__ = ["build_socket_handler", "main_socket", "socket_settings"]


def socket_settings(settings: Settings) -> Settings:
    """Check the tokens Socket Mode needs; fill in the signing secret it does not use.

    Requests over the socket are not signed (the app-level token authenticates the connection),
    but the app factory requires a signing secret, so a random one is supplied when none is set.
    """
    missing = [name for name in ("slack_app_token", "slack_bot_token") if not getattr(settings, name)]
    if missing:
        raise ConfigError(
            f"Socket Mode needs {' and '.join(n.upper() for n in missing)} "
            "(SLACK_APP_TOKEN is an app-level xapp- token with connections:write; "
            "SLACK_BOT_TOKEN the bot's xoxb- token)"
        )
    assert settings.slack_app_token is not None
    if not settings.slack_app_token.get_secret_value().startswith("xapp-"):
        raise ConfigError("SLACK_APP_TOKEN must be an app-level token (xapp-...), not a bot or user token")
    if settings.slack_signing_secret is None or not settings.slack_signing_secret.get_secret_value():
        return settings.model_copy(update={"slack_signing_secret": SecretStr(secrets.token_hex(16))})
    return settings


def build_socket_handler(settings: Settings, services: Services) -> Any:
    """The Bolt app behind a ``SocketModeHandler``; not connected yet."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from runtimes.assembly import create_app

    settings = socket_settings(settings)
    services.settings = settings
    app = create_app(services)
    assert settings.slack_app_token is not None
    return SocketModeHandler(app, settings.slack_app_token.get_secret_value())


def main_socket(settings: Settings) -> int:
    """``mlops-bot socket``: connect and serve until interrupted."""
    settings = socket_settings(settings)  # fail on missing tokens before building anything
    services = build_services(settings, host_endpoints_in_process=True)
    try:
        handler = build_socket_handler(settings, services)
        from handlers.scheduled_work import start_scheduled_work

        ticker = start_scheduled_work(services, services.notifier)
        log.info("connecting to Slack with Socket Mode")
        try:
            handler.start()  # blocks until the process is interrupted
        except KeyboardInterrupt:
            log.info("Socket Mode runtime interrupted; closing")
        finally:
            if ticker is not None:
                ticker.close()
            handler.close()
    finally:
        services.close()
    return 0
