"""Server memory while an outsider sends a 300 MB chunked body to every route, unauthenticated.

Two processes on 127.0.0.1: the HTTP runtime as ``mlops-bot serve`` runs it (``build_http_app``
served through ``uvicorn_config``, default limits, local platform, no Slack needed to refuse), and
this one, which writes raw HTTP/1.1: a chunked body of 300 MB to each route, one after another,
then the same to ``/slack/events`` from several connections at once. The server's peak resident
memory (``VmHWM``, reset before the attack through ``/proc/<pid>/clear_refs``) is compared with its
resident memory at rest.

    python -m bench.body_cap [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

MIB = 1024 * 1024
ATTACK_BYTES = 300 * MIB
GOAL_GROWTH_MB = 20.0
ROUTES = ("/slack/events", "/github/webhook", "/events/eventbridge", "/ci/report")


@dataclass(frozen=True)
class Flood:
    """What one attacking connection achieved."""

    sent: int  # bytes of body the client managed to write before the server answered or closed
    status: int | None  # the server's HTTP status, if its answer could be read
    closed: bool  # the server closed the connection
    response: bytes


def flood(
    host: str,
    port: int,
    path: str,
    *,
    total: int = ATTACK_BYTES,
    headers: dict[str, str] | None = None,
    declared_length: int | None = None,
    chunk_size: int = 64 * 1024,
    timeout: float = 60.0,
) -> Flood:
    """POST up to ``total`` bytes of body (chunked unless ``declared_length``), stopping when answered."""
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)  # keep little in flight
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    lines.append(
        f"Content-Length: {declared_length}" if declared_length is not None else "Transfer-Encoding: chunked"
    )
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    payload = b"x" * chunk_size
    frame = payload if declared_length is not None else b"%x\r\n%b\r\n" % (chunk_size, payload)
    view, offset, sent, closed = memoryview(frame), 0, 0, False
    deadline = time.monotonic() + timeout
    sock.setblocking(False)
    try:
        while sent < total and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], 1.0)
            if readable:
                break  # the server answered, or closed: an attacker learns nothing more by writing on
            if writable:
                try:
                    n = sock.send(view[offset:])
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
                    break
                sent, offset = sent + n, (offset + n) % len(frame)
        response = b""
        sock.settimeout(max(1.0, deadline - time.monotonic()))
        try:
            while data := sock.recv(65536):
                response += data
            closed = True
        except ConnectionResetError:
            closed = True
        except TimeoutError:
            pass
    finally:
        sock.close()
    status = None
    if response.startswith(b"HTTP/1.1 "):
        status = int(response.split(b" ", 2)[1])
    return Flood(sent, status, closed, response)


# -- the server process -----------------------------------------------------------------------------------


def _serve(home: Path, port_file: Path) -> None:
    import uvicorn
    from slack_sdk import WebClient

    from bot.limits import Limits
    from bot.services import build_services
    from bot.settings import Settings
    from runtimes.assembly import AckFirst, create_app, incoming_routes
    from runtimes.http_guard import uvicorn_config
    from runtimes.http_server import build_asgi, warm_up

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        slack_bot_token="xoxb-bench",
        slack_signing_secret="bench-signing-secret",
        github_webhook_secret="bench-github-secret",
        events_token="bench-events-token",
        mlops_home=home,
    )
    services = build_services(settings, host_endpoints_in_process=True)
    client = WebClient(token="xoxb-bench", base_url="http://127.0.0.1:9/")  # never called: all refused
    ack_first = AckFirst()  # as build_http_app, without the auth.test call at construction
    app = create_app(
        services,
        client=client,
        process_before_response=True,
        listener_executor=ack_first,
        token_verification_enabled=False,
    )
    asgi = build_asgi(app, services, extra_routes=incoming_routes(services), ack_first=ack_first)
    warm_up(services)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn_config(
        asgi, Limits.from_settings(settings), host="127.0.0.1", port=0, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port_file.write_text(str(sock.getsockname()[1]))
    sys.stdin.read()  # until the parent closes our stdin
    server.should_exit = True
    thread.join(10)


def _kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def run(quick: bool = False, parallel: int = 8, total: int | None = None) -> dict[str, Any]:
    total = total or (60 * MIB if quick else ATTACK_BYTES)
    with tempfile.TemporaryDirectory(prefix="bench-body-cap-") as tmp:
        port_file = Path(tmp) / "port"
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.body_cap", "--serve", tmp, str(port_file)],
            stdin=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
        )
        try:
            deadline = time.monotonic() + 60
            while not port_file.exists() or not port_file.read_text():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the server did not start")
                time.sleep(0.05)
            port = int(port_file.read_text())
            rest_kb = _kb(proc.pid, "VmRSS")
            Path(f"/proc/{proc.pid}/clear_refs").write_text("5")  # peak RSS := current RSS
            floods = {route: flood("127.0.0.1", port, route, total=total) for route in ROUTES}
            results: list[Flood] = []
            threads = [
                threading.Thread(
                    target=lambda: results.append(flood("127.0.0.1", port, "/slack/events", total=total))
                )
                for _ in range(parallel)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            peak_kb = _kb(proc.pid, "VmHWM")
            after_kb = _kb(proc.pid, "VmRSS")
        finally:
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(20)
    growth_mb = (peak_kb - rest_kb) / 1024
    return {
        "setup": {"attack_mb": total / MIB, "routes": list(ROUTES), "parallel_connections": parallel},
        "rss_at_rest_mb": rest_kb / 1024,
        "peak_growth_mb": growth_mb,
        "rss_after_mb": after_kb / 1024,
        "per_route": {
            route: {**asdict(f), "response": f.response[:200].decode(errors="replace")}
            for route, f in floods.items()
        },
        "parallel": [{"sent": f.sent, "status": f.status, "closed": f.closed} for f in results],
        "max_sent_mb": max(f.sent for f in [*floods.values(), *results]) / MIB,
        "goal_growth_mb": GOAL_GROWTH_MB,
        "met": growth_mb <= GOAL_GROWTH_MB
        and all(f.closed for f in [*floods.values(), *results])
        and all(f.sent < total for f in [*floods.values(), *results]),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        _serve(Path(args.serve[0]) / "home", Path(args.serve[1]))
        return
    result = run(quick=args.quick)
    print(json.dumps(result, indent=2, default=str))
    mark = "✓" if result["met"] else "✗"
    print(
        f"server memory growth {result['peak_growth_mb']:.1f} MB (goal ≤ {GOAL_GROWTH_MB:.0f} MB) {mark}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
