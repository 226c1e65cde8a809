"""The HTTP runtime's connection protocol, on a real socket."""

from __future__ import annotations

import asyncio
import http.client
import socket
import threading

import uvicorn
from starlette.types import Receive, Scope, Send

from bot.limits import Limits
from runtimes.http_guard import guarded_protocol, uvicorn_config


async def _answer(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def test_an_accepted_connection_sends_without_delay_even_on_a_socket_handed_to_the_server() -> None:
    # A socket made without the TCP protocol number, as a process manager hands one over: asyncio
    # leaves Nagle's algorithm on for the connections it accepts.
    seen: list[int] = []

    class Recording(guarded_protocol(Limits())):  # type: ignore[misc]
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            seen.append(transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    config = uvicorn_config(_answer, Limits(), host="127.0.0.1", port=0, log_config=None, lifespan="off")
    config.http = Recording
    server = uvicorn.Server(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    assert sock.proto == 0
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", sock.getsockname()[1], timeout=10)
        conn.request("GET", "/")
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, b"ok")
        conn.close()
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
    assert seen == [1]
