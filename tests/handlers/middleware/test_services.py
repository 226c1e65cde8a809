"""``ProvideServices``: every request's context carries the app's services, before any listener."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from slack_bolt import Ack, App, BoltContext, BoltRequest

from bot.services import Services
from handlers.context import services_of
from handlers.middleware.services import ProvideServices
from runtimes.slack_local import LocalSlack


def test_listeners_find_the_services_in_the_context(services: Services, local_slack: LocalSlack) -> None:
    app = App(
        client=local_slack.web_client(),
        signing_secret="s",
        request_verification_enabled=False,
        process_before_response=True,
    )
    app.use(ProvideServices(services))
    seen: list[Services] = []

    def probe(ack: Ack, context: BoltContext) -> None:
        seen.append(services_of(context))
        ack()

    app.action("probe")(probe)
    payload = {
        "type": "block_actions",
        "user": {"id": "U1"},
        "actions": [{"action_id": "probe", "value": "x"}],
    }
    response = app.dispatch(BoltRequest(body=urlencode({"payload": json.dumps(payload)}), headers={}))
    assert response.status == 200
    assert seen == [services]
