"""Events the bot receives from outside, one module per source (``eventbridge``, ``github``, ``ci``)."""

from .eventbridge import act_on_event, dispatch_eventbridge
from .routes import ingest_routes

__all__ = ["act_on_event", "dispatch_eventbridge", "ingest_routes"]
