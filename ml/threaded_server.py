"""The threaded HTTP server under the local twins (the endpoint host, LocalSlack): stops when told."""

from __future__ import annotations

import contextlib
import socket
from http.server import ThreadingHTTPServer


class ThreadedServer(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` with daemon request threads, a deep accept queue and a prompt ``shutdown``.

    ``serve_forever`` looks at its stop flag only when its ``select`` returns, which an idle server's
    does once per poll interval: ``shutdown`` would wait for that. Shutting the listening socket down
    first makes the ``select`` return at once and refuses new connections meanwhile.
    """

    daemon_threads = True
    # socketserver's default of 5 overflows when several clients call at once on a busy machine: the
    # kernel then resets the excess connections
    request_queue_size = 128

    def shutdown(self) -> None:
        # A socket closed already (server_close first) has nothing to wake: the flag alone stops it.
        with contextlib.suppress(OSError):
            self.socket.shutdown(socket.SHUT_RDWR)
        super().shutdown()
