"""An HTTP server speaking the ``InvokeEndpoint`` API in front of the shared test scorer, for boto3."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from ml.serving import BadInput, Scorer
from ml.threaded_server import ThreadedServer


@pytest.fixture
def runtime_url(scorer: Scorer, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    path = re.compile(r"^/endpoints/(?P<name>[^/]+)/invocations$")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            match = path.match(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if match is None or match["name"] != "mlops-staging":
                self._reply(404, b'{"message": "no such endpoint"}', "application/json", "ValidationError")
                return
            try:
                payload, content_type = scorer.predict(body, self.headers.get("Content-Type", ""))
            except BadInput as exc:
                self._reply(
                    400, json.dumps({"message": str(exc)}).encode(), "application/json", "ValidationError"
                )
                return
            self._reply(200, payload, content_type)

        def _reply(self, status: int, payload: bytes, content_type: str, error: str | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            if error:
                self.send_header("x-amzn-ErrorType", error)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadedServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
