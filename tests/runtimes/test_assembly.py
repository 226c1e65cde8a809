"""Background work yields to acknowledgements (``AckFirst``), in process and in the HTTP runtime."""

from __future__ import annotations

import asyncio
from pathlib import Path

from slack_sdk import WebClient
from starlette.types import Message

from runtimes.assembly import AckFirst
from runtimes.http_server import build_http_app
from runtimes.slack_local import LocalSlack
from tests.conftest import Closer
from tests.handlers.conftest import make_services


def test_background_work_waits_until_no_ack_is_in_flight() -> None:
    first = AckFirst(max_defer_seconds=3600)  # never run regardless, within this test
    try:
        with first.acking():
            with first.acking():
                job = first.submit(lambda: "done")
            assert first.acks_in_flight == 1
            assert not job.done()  # it cannot start while an ack is in flight
        assert job.result(timeout=30) == "done"
        assert first.acks_in_flight == 0
    finally:
        first.shutdown()


def test_a_slack_request_counts_as_in_flight_while_its_body_is_read(
    tmp_path: Path, local_slack: LocalSlack, close_later: Closer
) -> None:
    services = make_services(tmp_path / "home")
    close_later(services.close)
    app, asgi = build_http_app(
        services, client=WebClient(token=local_slack.token, base_url=local_slack.api_url)
    )
    first = app.listener_runner.listener_executor
    assert isinstance(first, AckFirst)
    seen: list[int] = []

    async def scenario() -> list[Message]:
        body_sent = asyncio.Event()
        sent: list[Message] = []

        async def receive() -> Message:
            await body_sent.wait()
            return {"type": "http.request", "body": b"token=x", "more_body": False}

        async def send(message: Message) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/slack/events",
            "raw_path": b"/slack/events",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"content-type", b"application/x-www-form-urlencoded"), (b"content-length", b"7")],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 3000),
        }
        request = asyncio.create_task(asgi(scope, receive, send))
        for _ in range(1000):  # yield until the request waits for its body
            if first.acks_in_flight:
                break
            await asyncio.sleep(0)
        seen.append(first.acks_in_flight)
        body_sent.set()
        await request
        seen.append(first.acks_in_flight)
        return sent

    sent = asyncio.run(scenario())
    assert seen == [1, 0]
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 401  # unsigned: refused
