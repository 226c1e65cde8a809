"""The local endpoint host: serves the deployed model versions over HTTP, like SageMaker hosting.

One HTTP server on 127.0.0.1 serves every endpoint of a platform home. Routes:

``POST /endpoints/{name}/invocations``
    The SageMaker runtime API path, so ``boto3.client("sagemaker-runtime", endpoint_url=host_url)``
    ``.invoke_endpoint(EndpointName=name, ...)`` works unchanged. Errors follow the runtime's contract:
    an unknown endpoint answers ``ValidationError`` (HTTP 404 here), input the model rejects answers
    ``ModelError`` (HTTP 424) carrying the model's own 400 and message, as SageMaker relays container errors.
``POST /invocations`` and ``GET /ping``
    The container contract. With several endpoints served, name one in the ``X-Endpoint`` header;
    with exactly one, the header may be left out. Rejected input answers HTTP 400 here.
``GET /endpoints``
    What this host serves (versions, load errors): how the platform confirms a deploy took effect.

Successful invocations carry ``X-Model-Version`` (the registry version that answered) besides the
runtime's ``x-Amzn-Invoked-Production-Variant``.

The host follows the state database: a background thread polls the endpoints table every 200 ms and
loads what it should serve. A switch loads the new model completely, then swaps one reference under a
lock, so requests in flight finish on the old model and none fails during a deploy or rollback.

It runs inside the platform's process (``LocalPlatform(host_endpoints_in_process=True)``) or as its own
process (``python -m ml.local serve-endpoints --home H``), which keeps endpoints up after the command
that deployed them exits; ``home/endpoints.json`` records that process's pid and port.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from ml.platform import PlatformError

from .events import ACCOUNT, REGION
from .registry import Registry

if TYPE_CHECKING:
    from ml.serving import Scorer

log = logging.getLogger(__name__)

HOST_FILE = "endpoints.json"
HOST_LOCK_FILE = "endpoint-host.lock"
HOST_LOG_FILE = Path("logs") / "endpoint-host.log"
#: SageMaker's real-time invocation payload limit.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
POLL_INTERVAL_S = 0.2
VARIANT = "AllTraffic"


@dataclass(frozen=True)
class Served:
    """One endpoint's live model; replaced whole, never mutated, so readers need no lock."""

    version: int
    model_dir: str
    scorer: Scorer
    loaded_at: datetime


@dataclass(frozen=True)
class LoadFailure:
    generation: int
    version: int
    message: str


class EndpointHost:
    """Serves the endpoints recorded in ``registry`` on ``host:port`` (port 0: any free port)."""

    def __init__(
        self,
        registry: Registry,
        home: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        poll_interval: float = POLL_INTERVAL_S,
    ) -> None:
        self.registry = registry
        self.home = Path(home).resolve()
        self._served: dict[str, Served] = {}
        self._failures: dict[str, LoadFailure] = {}
        self._swap_lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._stop = threading.Event()
        self._poll_interval = poll_interval
        self._last_seen: list[tuple[str, int]] | None = None
        self._bind_host = host
        self._server = _Server((host, port), _Handler, self)
        self._threads: list[threading.Thread] = []

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._bind_host}:{self.port}"

    def start(self) -> EndpointHost:
        self.sync()
        # A short poll interval lets stop() return at once instead of after up to 0.5 s.
        serve = functools.partial(self._server.serve_forever, poll_interval=0.05)
        for target, name in ((serve, "http"), (self._poll, "sync")):
            thread = threading.Thread(target=target, name=f"ml-local-endpoints-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("endpoint host for %s listening on %s", self.home, self.url)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    # -- serving state ---------------------------------------------------------------------------

    def serving(self, name: str) -> Served | None:
        return self._served.get(name)

    def served_names(self) -> list[str]:
        return sorted(self._served)

    def status(self) -> dict[str, Any]:
        served_now, failures_now = self._served, self._failures
        endpoints: dict[str, Any] = {}
        for name in sorted(set(served_now) | set(failures_now)):
            served = served_now.get(name)
            failure = failures_now.get(name)
            endpoints[name] = {
                "version": served.version if served else None,
                "model_dir": served.model_dir if served else None,
                "loaded_at": served.loaded_at.isoformat() if served else None,
                "error": (
                    {"generation": failure.generation, "version": failure.version, "message": failure.message}
                    if failure
                    else None
                ),
            }
        return {"home": str(self.home), "pid": os.getpid(), "url": self.url, "endpoints": endpoints}

    def set_model(self, name: str, version: int, model_dir: str) -> None:
        """Load ``model_dir`` fully, then make ``name`` serve it; raises if it does not load."""
        from ml.serving import Scorer

        scorer = Scorer.load(Path(model_dir))
        served = Served(version=version, model_dir=model_dir, scorer=scorer, loaded_at=datetime.now(UTC))
        with self._swap_lock:
            self._served = {**self._served, name: served}
        log.info("endpoint %s now serves v%d from %s", name, version, model_dir)

    def sync(self) -> None:
        """Load whatever the database says each endpoint should serve and is not served yet."""
        with self._sync_lock:
            for row in self.registry.list_endpoints():
                version, model_dir = row.desired
                if version is None or model_dir is None:
                    continue
                current = self._served.get(row.name)
                if current is not None and current.version == version and current.model_dir == model_dir:
                    continue
                failure = self._failures.get(row.name)
                if (
                    failure is not None
                    and failure.generation == row.generation
                    and failure.version == version
                ):
                    continue  # already failed for this very change: wait for the next one
                try:
                    self.set_model(row.name, version, model_dir)
                except Exception as exc:
                    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                    log.exception("endpoint %s cannot load v%d from %s", row.name, version, model_dir)
                    # Copy-on-write, like ``_served``: status() reads these without a lock.
                    self._failures = {
                        **self._failures,
                        row.name: LoadFailure(row.generation, version, message),
                    }
                else:
                    self._failures = {n: f for n, f in self._failures.items() if n != row.name}

    def _poll(self) -> None:
        while not self._stop.wait(self._poll_interval):
            try:
                seen = self.registry.endpoint_generations()
                if seen != self._last_seen:
                    self.sync()
                    self._last_seen = seen
            except Exception:
                log.exception("endpoint host: reading the endpoint state failed; retrying")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], host: EndpointHost):
        self.host = host
        super().__init__(address, handler)

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
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    # -- routing ---------------------------------------------------------------------------------

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        host = self.server.host
        if path == "/ping":
            name = self.headers.get("X-Endpoint")
            healthy = host.serving(name) is not None if name else bool(host.served_names())
            code = HTTPStatus.OK if healthy else HTTPStatus.SERVICE_UNAVAILABLE
            self._send_json(code, {"status": "Healthy" if healthy else "NoModelLoaded"})
        elif path == "/endpoints":
            self._send_json(HTTPStatus.OK, host.status())
        else:
            self._send_json(HTTPStatus.NOT_FOUND, {"message": f"no route for GET {path}"})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        parts = [unquote(p) for p in path.split("/") if p]
        if len(parts) == 3 and parts[0] == "endpoints" and parts[2] == "invocations":
            self._invoke(parts[1], runtime_api=True)
        elif parts == ["invocations"]:
            name = self.headers.get("X-Endpoint")
            if name is None:
                served = self.server.host.served_names()
                if len(served) != 1:
                    self._discard_body()
                    listing = ", ".join(served) or "none"
                    self._send_text(
                        HTTPStatus.BAD_REQUEST,
                        f"name the endpoint in the X-Endpoint header (served here: {listing})",
                    )
                    return
                name = served[0]
            self._invoke(name, runtime_api=False)
        else:
            self._discard_body()
            self._send_json(HTTPStatus.NOT_FOUND, {"message": f"no route for POST {path}"})

    # -- invocation ------------------------------------------------------------------------------

    def _invoke(self, name: str, *, runtime_api: bool) -> None:
        from ml.serving import BadInput

        body = self._read_body(runtime_api)
        if body is None:
            return
        served = self.server.host.serving(name)
        if served is None:
            message = f"Endpoint {name} of account {ACCOUNT} not found."
            if runtime_api:
                self._send_error("ValidationError", HTTPStatus.NOT_FOUND, {"message": message})
            else:
                self._send_text(HTTPStatus.NOT_FOUND, message)
            return
        content_type = self.headers.get("Content-Type", "application/octet-stream")
        try:
            payload, response_type = served.scorer.predict(body, content_type, self.headers.get("Accept"))
        except BadInput as exc:
            self._model_error(runtime_api, HTTPStatus.BAD_REQUEST, str(exc))
            return
        except Exception as exc:
            log.exception("endpoint %s (v%d) failed on a request", name, served.version)
            self._model_error(runtime_api, HTTPStatus.INTERNAL_SERVER_ERROR, f"{type(exc).__name__}: {exc}")
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", response_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-Amzn-Invoked-Production-Variant", VARIANT)
        self.send_header("X-Model-Version", str(served.version))
        self.end_headers()
        self.wfile.write(payload)

    def _model_error(self, runtime_api: bool, status: HTTPStatus, message: str) -> None:
        if not runtime_api:
            self._send_text(status, message)
            return
        kind = "client" if status < 500 else "server"
        self._send_error(
            "ModelError",
            HTTPStatus.FAILED_DEPENDENCY,
            {
                "ErrorCode": f"{kind.upper()}_ERROR_FROM_MODEL",
                "OriginalStatusCode": int(status),
                "OriginalMessage": message,
                "LogStreamArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{HOST_LOG_FILE}",
                "message": (
                    f'Received {kind} error ({int(status)}) from primary with message "{message}". '
                    f"See {self.server.host.home / HOST_LOG_FILE} for the host's log."
                ),
            },
        )

    def _read_body(self, runtime_api: bool) -> bytes | None:
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            self._reject(runtime_api, HTTPStatus.LENGTH_REQUIRED, "a Content-Length header is required")
            self.close_connection = True
            return None
        try:
            length = int(length_header)
        except ValueError:
            self._reject(runtime_api, HTTPStatus.BAD_REQUEST, f"bad Content-Length {length_header!r}")
            self.close_connection = True
            return None
        if length > MAX_PAYLOAD_BYTES:
            self._reject(
                runtime_api,
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"payload of {length} bytes exceeds the {MAX_PAYLOAD_BYTES} byte limit",
            )
            self.close_connection = True
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _discard_body(self) -> None:
        length = self.headers.get("Content-Length")
        if length and length.isdigit() and int(length) <= MAX_PAYLOAD_BYTES:
            self.rfile.read(int(length))
        else:
            self.close_connection = True

    def _reject(self, runtime_api: bool, status: HTTPStatus, message: str) -> None:
        if runtime_api:
            self._send_error("ValidationError", status, {"message": message})
        else:
            self._send_text(status, message)

    # -- responses -------------------------------------------------------------------------------

    def _send_error(self, code: str, status: HTTPStatus, body: Mapping[str, Any]) -> None:
        data = json.dumps(dict(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("x-amzn-ErrorType", code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_json(self, status: HTTPStatus, body: Mapping[str, Any]) -> None:
        data = json.dumps(dict(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_text(self, status: HTTPStatus, message: str) -> None:
        data = (message + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


# -- the host as its own process ---------------------------------------------------------------------


@dataclass(frozen=True)
class HostRecord:
    pid: int
    port: int
    url: str
    home: str
    started_at: str


def read_host_record(home: Path) -> HostRecord | None:
    path = Path(home) / HOST_FILE
    try:
        data = json.loads(path.read_text())
        return HostRecord(
            pid=int(data["pid"]),
            port=int(data["port"]),
            url=str(data["url"]),
            home=str(data["home"]),
            started_at=str(data["started_at"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_host_record(home: Path, host: EndpointHost) -> HostRecord:
    record = HostRecord(
        pid=os.getpid(),
        port=host.port,
        url=host.url,
        home=str(Path(home).resolve()),
        started_at=datetime.now(UTC).isoformat(),
    )
    path = Path(home) / HOST_FILE
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record.__dict__, indent=2) + "\n")
    os.replace(tmp, path)
    return record


def remove_host_record(home: Path, host: EndpointHost) -> None:
    """Remove ``endpoints.json`` only if it still names this host (another may have replaced it)."""
    record = read_host_record(home)
    if record is not None and record.pid == os.getpid() and record.port == host.port:
        with contextlib.suppress(FileNotFoundError):
            (Path(home) / HOST_FILE).unlink()


def host_status(url: str, timeout: float = 2.0) -> dict[str, Any] | None:
    """The host's ``GET /endpoints`` answer, or None when nothing answers there."""
    try:
        with urllib.request.urlopen(f"{url}/endpoints", timeout=timeout) as response:  # noqa: S310 - http only
            data = json.loads(response.read())
            return data if isinstance(data, dict) else None
    except (OSError, ValueError, urllib.error.URLError):
        return None


def live_host(home: Path) -> HostRecord | None:
    """The recorded host, if it answers and really serves this home (ports get reused)."""
    record = read_host_record(home)
    if record is None:
        return None
    status = host_status(record.url, timeout=1.0)
    if status is None or status.get("home") != str(Path(home).resolve()) or status.get("pid") != record.pid:
        return None
    return record


@contextlib.contextmanager
def _host_lock(home: Path) -> Iterator[None]:
    """Serialise host start-up between processes, so two deploys never start two hosts."""
    Path(home).mkdir(parents=True, exist_ok=True)
    with open(Path(home) / HOST_LOCK_FILE, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_children: dict[int, subprocess.Popen[bytes]] = {}


def ensure_host_process(home: Path, *, port: int = 0, timeout: float = 60.0) -> HostRecord:
    """Return the running host of ``home``, starting ``python -m ml.local serve-endpoints`` if none is."""
    home = Path(home).resolve()
    with _host_lock(home):
        record = live_host(home)
        if record is not None:
            return record
        log_path = home / HOST_LOG_FILE
        log_path.parent.mkdir(parents=True, exist_ok=True)
        project_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (project_root, env.get("PYTHONPATH", "")) if p)
        command = [
            sys.executable,
            "-m",
            "ml.local",
            "serve-endpoints",
            "--home",
            str(home),
            "--port",
            str(port),
        ]
        with open(log_path, "ab") as log_file:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # outlives the command (and its Ctrl-C) that started it
            )
        _children[process.pid] = process
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise PlatformError(
                    f"the endpoint host exited with code {process.returncode} while starting; "
                    f"its log ({log_path}) ends with:\n{_tail(log_path)}"
                )
            record = read_host_record(home)
            if record is not None and record.pid == process.pid and live_host(home) is not None:
                return record
            time.sleep(0.1)
        process.terminate()
        raise PlatformError(f"the endpoint host did not start within {timeout:.0f} s; see {log_path}")


def stop_host_process(home: Path, timeout: float = 10.0) -> bool:
    """Stop the recorded host process of ``home``; False when none was running."""
    home = Path(home).resolve()
    record = live_host(home)
    if record is None or record.pid == os.getpid():
        return False
    os.kill(record.pid, signal.SIGTERM)
    child = _children.pop(record.pid, None)
    if child is not None:
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout)
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _pid_alive(record.pid):
        time.sleep(0.05)
    if _pid_alive(record.pid):
        os.kill(record.pid, signal.SIGKILL)
    return True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def serve(home: Path, *, host: str = "127.0.0.1", port: int = 0) -> None:
    """Run the endpoint host in the foreground until SIGTERM or SIGINT."""
    home = Path(home).resolve()
    registry = Registry(home / "registry.db")
    endpoint_host = EndpointHost(registry, home, host=host, port=port).start()
    write_host_record(home, endpoint_host)
    stopping = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        log.info("endpoint host: signal %d, stopping", signum)
        stopping.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        while not stopping.wait(1.0):
            pass
    finally:
        remove_host_record(home, endpoint_host)
        endpoint_host.stop()
        registry.close()
