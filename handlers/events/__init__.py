"""Slack side of the events the bot receives from outside: routes and their Block Kit."""

from .routes import dispatch_eventbridge, ingest_routes

__all__ = ["dispatch_eventbridge", "ingest_routes"]
