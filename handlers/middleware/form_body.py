"""Reading a slash command whose text contains the word "payload" as the command it is.

Bolt parses a form body that contains the substring ``payload`` anywhere as an interaction
(``payload=<json>``); with no such field it yields an empty body, so ``/mlops reject v2 bad payload``
matched no listener and Slack showed "dispatch_failed". This middleware parses the form again,
field by field, when that happened, and rebuilds the request's context from it. The fields also go
into the context (``COMMAND_FIELDS``): a lazy listener's copy of the request is parsed by Bolt again,
but its context is copied as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from slack_bolt.request.internals import build_context

#: context key of the command's form fields, when Bolt's parse lost them
COMMAND_FIELDS = "command_form_fields"


class CommandFormBody(Middleware):
    """Gives a form-encoded slash command its fields back when Bolt's parse left the body empty."""

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        raw = req.raw_body
        if not req.body and raw and not raw.lstrip().startswith("{"):
            fields = dict(parse_qsl(raw, keep_blank_values=True))
            if "payload" not in fields and fields.get("command"):
                req.body = fields
                req.context = build_context(req.context, fields)
                req.context[COMMAND_FIELDS] = fields
        return next()
