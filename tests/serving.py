"""Test plumbing for running the app for real: an HTTP server in a thread that accepts connections
before it starts serving."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from bot.limits import Limits
from runtimes.http_guard import uvicorn_config


@contextmanager
def http_server(asgi: Any, limits: Limits | None = None) -> Iterator[str]:
    """Serve ``asgi`` on 127.0.0.1 as ``mlops-bot serve`` does (every limit applied), in a thread."""
    limits = limits or getattr(getattr(asgi, "state", None), "limits", None) or Limits()
    # log_config=None: uvicorn's records reach the root logger (and pytest's caplog) like any other
    config = uvicorn_config(asgi, limits, host="127.0.0.1", port=0, log_config=None, lifespan="off")
    server = uvicorn.Server(config)
    # The socket is bound and listening before the server runs: connections made before it serves
    # wait in the backlog, so nothing has to wait for the server to start.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(config.backlog)
    port = sock.getsockname()[1]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
