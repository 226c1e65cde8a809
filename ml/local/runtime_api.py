"""SageMaker's runtime API in front of local model containers: the answers ``InvokeEndpoint`` gives.

Checked against botocore's ``sagemaker-runtime`` service model (``InvokeEndpoint``: errors
``ValidationError`` 400, ``ModelError`` 424 with ``OriginalStatusCode``, ``OriginalMessage`` and
``LogStreamArn``; ``Body`` at most 6,291,456 bytes) and the messages SageMaker is seen to send:

* an unknown endpoint: ``ValidationError`` (400) "Endpoint <name> of account <account> not found.";
* a container answering anything but 2xx: ``ModelError`` (424), message 'Received client|server error
  (<status>) from primary with message "<body>". See <log group link> in account <account> for more
  information.', with the container's status and body as ``OriginalStatusCode``/``OriginalMessage``;
* a container not answering within 60 s: ``ModelError`` with ``OriginalStatusCode`` 0, "Your invocation
  timed out while waiting for a response from container primary. ...";
* a body over 6 MB: HTTP 413 "HTTP content length exceeded 6291456 bytes." with no error code (botocore
  reports the code as "413"); the body is never read.

``answer_invocation`` is shared by the local endpoint host and the tests' moto runtime, so both
platforms answer a boto3 client alike. ``RuntimeServer`` is the host's HTTP server.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from .capture import CaptureWriter
from .container import Container

log = logging.getLogger(__name__)

#: ``InvokeEndpoint``'s Body limit (botocore's BodyBlob ``max``).
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
#: How long SageMaker waits for the container's answer.
INVOCATION_TIMEOUT_S = 60.0
VARIANT = "AllTraffic"
CONTAINER_NAME = "primary"
_READ_CHUNK = 64 * 1024
TIMED_OUT = (
    f"Your invocation timed out while waiting for a response from container {CONTAINER_NAME}. "
    "Review the latency metrics for each container in Amazon CloudWatch, resolve the issue, and try again."
)


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def _json_error(status: int, code: str | None, fields: Mapping[str, Any]) -> Answer:
    headers = {"Content-Type": "application/json"}
    if code is not None:
        headers["x-amzn-ErrorType"] = code
    return Answer(status, json.dumps(dict(fields)).encode(), headers)


def endpoint_not_found(name: str, account: str) -> Answer:
    return _json_error(
        400, "ValidationError", {"message": f"Endpoint {name} of account {account} not found."}
    )


def payload_too_large() -> Answer:
    return _json_error(413, None, {"message": f"HTTP content length exceeded {MAX_PAYLOAD_BYTES} bytes."})


def model_error(name: str, status: int, original: str, *, region: str, account: str) -> Answer:
    kind = "client" if 400 <= status < 500 else "server"
    logs = (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logEventViewer:group=/aws/sagemaker/Endpoints/{name}"
    )
    return _json_error(
        424,
        "ModelError",
        {
            "message": (
                f'Received {kind} error ({status}) from {CONTAINER_NAME} with message "{original}". '
                f"See {logs} in account {account} for more information."
            ),
            "OriginalStatusCode": status,
            "OriginalMessage": original,
            "LogStreamArn": (
                f"arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/Endpoints/{name}"
                f":log-stream:{VARIANT}/local"
            ),
        },
    )


def answer_invocation(
    container: Container,
    name: str,
    body: bytes,
    content_type: str | None,
    accept: str | None,
    *,
    executor: concurrent.futures.Executor,
    timeout: float,
    region: str,
    account: str,
    variant: str = VARIANT,
) -> Answer:
    """What ``InvokeEndpoint`` answers once the endpoint is found and the body is within the limit."""
    future = executor.submit(container.invoke, body, content_type, accept)
    try:
        response = future.result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        # The container goes on working, as a real one would; its answer is dropped.
        return model_error(name, 0, TIMED_OUT, region=region, account=account)
    except Exception as exc:  # the container process itself failed: a 500 from its server
        log.exception("endpoint %s: the container failed", name)
        return model_error(name, 500, f"{type(exc).__name__}: {exc}", region=region, account=account)
    if not 200 <= response.status < 300:
        original = response.body.decode("utf-8", "replace")
        return model_error(name, response.status, original, region=region, account=account)
    headers = {"Content-Type": response.content_type or "application/octet-stream"}
    headers["x-Amzn-Invoked-Production-Variant"] = variant
    return Answer(200, response.body, headers)


# -- the host's HTTP server ---------------------------------------------------------------------------
class Served(Protocol):
    @property
    def version(self) -> int: ...

    @property
    def container(self) -> Container: ...


class EndpointSource(Protocol):
    """What the server asks of whoever decides which model each endpoint serves."""

    region: str
    account: str

    def serving(self, name: str) -> Served | None: ...

    def served_names(self) -> list[str]: ...

    def status(self) -> dict[str, Any]: ...


class Router(Protocol):
    """Weighted variants behind an endpoint (the local endpoint host): routes, fails on purpose, counts."""

    def invoke(self, name: str, call: Callable[[Container, str], Answer]) -> tuple[Answer, int] | None:
        """Answer one invocation of ``name`` through ``call(container, variant name)``; the answer and the
        version that gave it, or None when ``name`` is not served."""
        ...

    def sync(self) -> None:
        """Serve what the state database says now (``POST /sync``: a nudge after a change)."""
        ...


class RuntimeServer(ThreadingHTTPServer):
    """``POST /endpoints/{name}/invocations`` (the runtime API), ``/invocations`` and ``/ping`` (the
    container's own routes; with several endpoints name one in ``X-Endpoint``), ``GET /endpoints`` and,
    with a ``router``, ``POST /sync``."""

    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default of 5 overflows in a burst: the kernel then resets the excess connections
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        source: EndpointSource,
        *,
        invocation_timeout: float = INVOCATION_TIMEOUT_S,
        max_workers: int = 16,
        capture: CaptureWriter | None = None,
        router: Router | None = None,
    ) -> None:
        self.source = source
        #: routes runtime invocations between variants (None: each endpoint's one container answers)
        self.router = router
        #: where successful runtime API invocations are offered for data capture (None: no capture)
        self.capture = capture
        self.invocation_timeout = invocation_timeout
        self.executor = concurrent.futures.ThreadPoolExecutor(
            max_workers, thread_name_prefix="ml-local-invoke"
        )
        super().__init__(address, _Handler)

    def server_close(self) -> None:
        super().server_close()
        self.executor.shutdown(wait=False, cancel_futures=True)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The stdlib prints tracebacks to stderr; clients dropping keep-alive connections are routine.
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            log.debug("connection from %s dropped: %r", client_address, error)
        else:
            log.exception("endpoint host: request from %s failed", client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: with Nagle's algorithm on, the client's delayed ACK
    # would add ~40 ms to every small response.
    disable_nagle_algorithm = True
    server: RuntimeServer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        source = self.server.source
        if path == "/ping":
            served = self._container_target()
            if served is None:
                return
            response = served.container.ping()
            self._send(Answer(response.status, response.body, _type(response.content_type)))
        elif path == "/endpoints":
            self._send(
                Answer(200, json.dumps(source.status()).encode(), {"Content-Type": "application/json"})
            )
        else:
            self._send(_json_error(404, None, {"message": f"no route for GET {path}"}))

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        parts = [unquote(p) for p in path.split("/") if p]
        body = self._read_body()
        if body is None:
            return
        if len(parts) == 3 and parts[0] == "endpoints" and parts[2] == "invocations":
            self._invoke(parts[1], body)
        elif parts == ["sync"] and self.server.router is not None:
            self.server.router.sync()
            status = json.dumps(self.server.source.status()).encode()
            self._send(Answer(200, status, {"Content-Type": "application/json"}))
        elif parts == ["invocations"]:
            served = self._container_target()
            if served is not None:
                response = served.container.invoke(
                    body, self.headers.get("Content-Type"), self.headers.get("Accept")
                )
                headers = _type(response.content_type)
                headers["X-Model-Version"] = str(served.version)
                self._send(Answer(response.status, response.body, headers))
        else:
            self._send(_json_error(404, None, {"message": f"no route for POST {path}"}))

    def _invoke(self, name: str, body: bytes) -> None:
        source, router = self.server.source, self.server.router
        variant = VARIANT

        def call(container: Container, variant_name: str) -> Answer:
            nonlocal variant
            variant = variant_name
            return answer_invocation(
                container,
                name,
                body,
                self.headers.get("Content-Type"),
                self.headers.get("Accept"),
                executor=self.server.executor,
                timeout=self.server.invocation_timeout,
                region=source.region,
                account=source.account,
                variant=variant_name,
            )

        if router is not None:
            routed = router.invoke(name, call)
        else:
            served = source.serving(name)
            routed = None if served is None else (call(served.container, VARIANT), served.version)
        if routed is None:
            self._send(endpoint_not_found(name, source.account))
            return
        answer, version = routed
        if answer.status == 200:
            answer.headers["X-Model-Version"] = str(version)
        if answer.status == 200 and self.server.capture is not None:
            # Queued before the answer goes out, so that whoever got the answer can wait for its record
            # (flush); offer() only samples and queues, it never blocks. Refused and failed invocations
            # are not captured: SageMaker documents capture of inference requests and their predictions,
            # and a record has no status to tell an error body from a prediction.
            self.server.capture.offer(
                name,
                variant,
                body,
                self.headers.get("Content-Type"),
                answer.body,
                answer.headers.get("Content-Type"),
            )
        self._send(answer)

    def _container_target(self) -> Served | None:
        source = self.server.source
        name = self.headers.get("X-Endpoint")
        if name is None:
            served_names = source.served_names()
            if len(served_names) != 1:
                listing = ", ".join(served_names) or "none"
                message = f"name the endpoint in the X-Endpoint header (served here: {listing})"
                self._send(Answer(400, message.encode(), {"Content-Type": "text/plain; charset=utf-8"}))
                return None
            name = served_names[0]
        served = source.serving(name)
        if served is None:
            refusal = f"endpoint {name} is not served here".encode()
            self._send(Answer(503, refusal, {"Content-Type": "text/plain; charset=utf-8"}))
        return served

    def _read_body(self) -> bytes | None:
        """The body, read in chunks up to the limit; None (answered) when refused before reading."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._send(_json_error(411, None, {"message": "a Content-Length header is required"}))
            return None
        header = self.headers.get("Content-Length", "0")
        try:
            length = int(header)
            if length < 0:
                raise ValueError(header)
        except ValueError:
            self.close_connection = True
            self._send(_json_error(400, None, {"message": f"bad Content-Length {header!r}"}))
            return None
        if length > MAX_PAYLOAD_BYTES:
            self.close_connection = True  # the unread body must not be taken for the next request
            self._send(payload_too_large())
            return None
        chunks: list[bytes] = []
        remaining = length
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, _READ_CHUNK))
            if not chunk:
                self.close_connection = True
                return None  # the client went away mid-body
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def _send(self, answer: Answer) -> None:
        self.send_response(answer.status)
        for key, value in answer.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(answer.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(answer.body)


def _type(content_type: str | None) -> dict[str, str]:
    return {"Content-Type": content_type} if content_type else {}
