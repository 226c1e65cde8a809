"""The twins' threaded HTTP server stops when told, not at its next poll."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler

import pytest

from ml.threaded_server import ThreadedServer


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads answers, not logs."""


def test_an_idle_server_stops_without_waiting_out_its_poll_interval() -> None:
    server = ThreadedServer(("127.0.0.1", 0), _Ok)
    # an hour between polls: only the wake-up can end serve_forever within the test's wait
    serving = threading.Thread(target=server.serve_forever, args=(3600,), daemon=True)
    serving.start()
    address = ("127.0.0.1", int(server.server_address[1]))
    with socket.create_connection(address) as conn:  # it serves before the stop
        conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert conn.recv(64).startswith(b"HTTP/1.0 204")
    stopped = threading.Event()

    def stop() -> None:
        server.shutdown()
        stopped.set()

    threading.Thread(target=stop, daemon=True).start()
    assert stopped.wait(30), "shutdown waited for the next poll"
    serving.join(30)
    assert not serving.is_alive()
    server.server_close()
    with pytest.raises(OSError):
        socket.create_connection(address, timeout=5).close()


def test_shutdown_after_the_socket_was_closed_still_stops_the_loop() -> None:
    server = ThreadedServer(("127.0.0.1", 0), _Ok)
    serving = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    serving.start()
    server.socket.close()  # nothing left to wake: the stop flag alone ends the loop at its next poll
    server.shutdown()
    serving.join(30)
    assert not serving.is_alive()
