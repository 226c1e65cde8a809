"""Acknowledgement latency of every command and button of a release, against a bare Bolt app.

    python -m bench.ack_latency [--quick]

Four processes on 127.0.0.1: the Slack Web API (``LocalSlack``), the bot (``create_app`` served by
``build_asgi`` + uvicorn, on the local platform with one trained and approved version, the durable
notifier at Slack's pacing), a bare Bolt app that only acknowledges, on the same server stack, and
this process, which sends signed requests over HTTP at a fixed concurrency and times each answer.
Slack and the load generator live in their own processes so that neither server pays for their CPU.

The kinds (``KINDS``): ``/mlops status``, ``/mlops help``, ``/mlops train``, an Approve click, a Promote
click (which asks for confirmation) and a rollback's Confirm click. For each, the requests are split
into rounds that alternate between the bot and the bare app, so machine noise hits both alike; before
each round the bot's background work (lazy listeners, which answer through ``response_url``) has
drained. The approve click names the version that is already approved, so it is acknowledged and then
answered as a repeat. The bot's platform refuses new training runs (as when its run queue is full), so
each ``train`` is acknowledged, then refused and audited, and no model is trained. The rollback Confirm
names a production version that no longer serves, so it is answered as out of date and nothing is rolled
back.

A last variant restarts the bot with a role cache of a one-second TTL and alternates rounds of approve
clicks while Slack's user-group API answers and while it hangs (``usergroups.*`` never answer):
acks must not wait for it (goal: hung p99 ≤ 1.5× normal p99). Every other kind's goal: p99 ≤ 1.2× the
bare app's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode

from bench.common import latency_summary, machine
from bot.users import user_id
from runtimes.terminal import TrackingExecutor, track_listeners

CHANNEL = "#mlops"
#: every ack's p99 against the bare app's, in the same rounds
GOAL_RATIO = 1.2
#: the hung user-group API against the answering one, same bot
GOAL_HUNG_RATIO = 1.5
QUICK_REQUESTS = 400
READY_TIMEOUT_S = 90.0
IDLE_TIMEOUT_S = 120.0
GROUP_METHODS = ("usergroups.list", "usergroups.users.list")
#: Role cache TTL of the bot in the hung-API variant: every few requests find it due for a refresh.
HUNG_GROUP_TTL_S = 1
#: the start of each answer the bot gave that the results keep, counted
ANSWER_CHARS = 100


# -- child processes ---------------------------------------------------------------------------------


def _ready(payload: dict[str, Any]) -> None:
    print("READY " + json.dumps(payload), flush=True)


def _wait_for_parent() -> None:
    """Serve until the parent closes our stdin (or dies)."""
    sys.stdin.read()


def _serve_slack(urls: int) -> None:
    """``urls``: how many response URLs each request kind gets (one a request, for its sender)."""
    from runtimes.slack_local import LocalSlack

    with LocalSlack(channels=(CHANNEL,)) as slack:
        _ready(
            {
                "api_url": slack.api_url,
                "token": slack.token,
                "channel_id": slack.channel_id(CHANNEL),
                "urls": {
                    kind.name: [slack.response_url(CHANNEL, user_id(kind.user)) for _ in range(urls)]
                    for kind in KINDS
                },
            }
        )
        # One command a line from the parent: make Slack's user-group API hang, or answer again; or
        # tell what the bot answered through response URLs since last asked (one line of JSON).
        told = 0
        for line in sys.stdin:
            if line.strip() == "answers":
                answers = slack.responses()
                counts = Counter(str(a.get("text", ""))[:ANSWER_CHARS] for a in answers[told:])
                told = len(answers)
                print(json.dumps(counts), flush=True)
                continue
            if line.strip() == "hold":
                slack.hold(*GROUP_METHODS)
            elif line.strip() == "release":
                slack.release(*GROUP_METHODS)
            print("OK", flush=True)


def _train_and_approve(services: Any) -> int:
    from bot.core.models import Actor, Role
    from bot.users import user_id

    alice = Actor(user_id("alice"), "alice", frozenset({Role.TRAINER}))
    bob = Actor(user_id("bob"), "bob", frozenset({Role.APPROVER}))
    release = services.release
    started = release.train(alice, json.loads(os.environ.get("BENCH_TRAIN_PARAMETERS", "{}")))
    if not started.ok:
        raise RuntimeError(f"could not start training: {started.message}")
    execution_id = str(started.data["execution_id"])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        execution = services.platform.describe_execution(execution_id)
        if execution.status.terminal:
            if execution.model_version is None:
                raise RuntimeError(f"training failed: {execution.failure_reason}")
            approved = release.approve(bob, execution.model_version)
            if not approved.ok:
                raise RuntimeError(f"could not approve v{execution.model_version}: {approved.message}")
            return int(execution.model_version)
        time.sleep(0.1)
    raise RuntimeError("training did not finish within 120 s")


def _refuse_new_runs(platform: Any) -> None:
    """From now on the platform refuses every training run, as when its run queue is full.

    ``/mlops train`` is then acknowledged, checked, refused and audited as usual, and trains nothing.
    """
    from ml.local.run_limits import RunLimitReached

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise RunLimitReached("training refused: this benchmark's platform takes no more runs")

    platform.start_pipeline = refuse


def _serve_app(kind: str) -> None:
    import uvicorn
    from slack_bolt import App
    from slack_sdk import WebClient
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from bot.limits import Limits
    from bot.notify import Notifier
    from bot.services import build_services
    from bot.settings import load_settings
    from runtimes.http_guard import uvicorn_config
    from runtimes.http_server import build_asgi

    api_url, token, secret = (
        os.environ["BENCH_SLACK_API"],
        os.environ["BENCH_SLACK_TOKEN"],
        os.environ["BENCH_SECRET"],
    )
    with tempfile.TemporaryDirectory(prefix=f"mlops-bench-{kind}-") as tmp:
        settings = load_settings(
            mlops_home=Path(tmp),
            mlops_channel=CHANNEL,
            slack_bot_token=token,
            slack_signing_secret=secret,
            slack_api_url=api_url,
            mlops_auto_deploy_staging=False,
            mlops_group_cache_seconds=int(os.environ.get("BENCH_GROUP_TTL", "300")),
        )
        services = build_services(settings, host_endpoints_in_process=True)
        client = WebClient(token=token, base_url=api_url)
        notifier: Notifier | None = None
        version = 0
        tracker: TrackingExecutor | None = None

        async def idle(_: Request) -> JSONResponse:
            outbox = notifier.pending() if notifier is not None else 0
            return JSONResponse({"listeners": tracker.pending if tracker else 0, "outbox": outbox})

        if kind in ("bot", "hungbot"):
            from runtimes.http_server import build_http_app, warm_up

            notifier = Notifier(client, services.store, CHANNEL)
            services.notifier = notifier
            app, asgi = build_http_app(
                services, client=client, extra_routes=[Route("/bench/idle", idle, methods=["GET"])]
            )
            version = _train_and_approve(services)
            _refuse_new_runs(services.platform)
            warm_up(services)  # as `mlops-bot serve` does before serving
        else:
            from runtimes.assembly import LISTENER_THREADS

            app = App(
                client=client,
                signing_secret=secret,
                token_verification_enabled=False,
                raise_error_for_unhandled_request=False,
                listener_executor=ThreadPoolExecutor(max_workers=LISTENER_THREADS),
            )

            def ack_only(ack: Any) -> None:
                ack()

            app.command("/mlops")(ack_only)
            for action_id in BARE_ACTIONS:
                app.action(action_id)(ack_only)
        tracker = track_listeners(app)
        if kind == "bare":
            asgi = build_asgi(app, services, extra_routes=[Route("/bench/idle", idle, methods=["GET"])])
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        # both apps on the HTTP runtime's own server configuration (limits, connection protocol)
        config = uvicorn_config(
            asgi,
            Limits.from_settings(settings),
            host="127.0.0.1",
            port=0,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        _ready({"url": f"http://127.0.0.1:{sock.getsockname()[1]}", "version": version})
        try:
            _wait_for_parent()
        finally:
            server.should_exit = True
            thread.join(10)
            if notifier is not None:
                notifier.close(timeout=0)
            services.close()


# -- the parent: processes and load -------------------------------------------------------------------


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[str]
    info: dict[str, Any]
    log: IO[str]

    def stop(self) -> str:
        """Stop the child; returns the end of what it wrote to stderr."""
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.seek(0)
        tail = self.log.read()[-1500:]
        self.log.close()
        return tail


def _start(name: str, args: Sequence[str], env: dict[str, str], logdir: Path) -> Child:
    log = (logdir / f"{name}.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.ack_latency", "--serve", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=env,
        cwd=logdir,  # no developer .env is read
    )
    assert proc.stdout is not None
    line = ""
    deadline = time.monotonic() + READY_TIMEOUT_S
    # readline blocks; a watchdog kills a child that hangs before it is ready.
    watchdog = threading.Timer(READY_TIMEOUT_S, proc.kill)
    watchdog.start()
    try:
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line or line.startswith("READY "):
                break
    finally:
        watchdog.cancel()
    if not line.startswith("READY "):
        proc.kill()
        log.seek(0)
        raise RuntimeError(f"{name} server did not start: {log.read()[-2000:]}")
    return Child(name, proc, json.loads(line[6:]), log)


def _start_all(
    apps: Sequence[tuple[str, dict[str, str]]], logdir: Path, children: list[Child]
) -> list[Child]:
    """Start each ``(name, env)`` app at once; every child that started is added to ``children``."""
    with ThreadPoolExecutor(len(apps)) as pool:
        futures = [pool.submit(_start, name, [name], env, logdir) for name, env in apps]
    failures = []
    for future in futures:
        try:
            children.append(future.result())
        except Exception as exc:  # every failure is reported; the apps that started still get stopped
            failures.append(f"{type(exc).__name__}: {exc}")
    if failures:
        raise RuntimeError("; ".join(failures))
    return children[-len(apps) :]


def _headers(secret: str, body: str) -> dict[str, str]:
    from slack_sdk.signature import SignatureVerifier

    ts = str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    if signature is None:
        raise RuntimeError("slack_sdk could not sign the request body")
    return {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": ts,
        "x-slack-signature": signature,
    }


def command_body(channel_id: str, response_url: str, user: str, text: str) -> str:
    return urlencode(
        {
            "command": "/mlops",
            "text": text,
            "user_id": user_id(user),
            "user_name": user,
            "team_id": "T0LOCAL01",
            "channel_id": channel_id,
            "response_url": response_url,
            "trigger_id": f"{int(time.time())}.{secrets.token_hex(8)}",
        }
    )


def click_body(channel_id: str, response_url: str, user: str, action_id: str, value: dict[str, Any]) -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": user_id(user), "username": user, "team_id": "T0LOCAL01"},
        "team": {"id": "T0LOCAL01"},
        "channel": {"id": channel_id},
        "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": channel_id},
        "message": {"ts": "1700000000.000100"},
        "trigger_id": f"{int(time.time())}.{secrets.token_hex(8)}",
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": "card",
                "value": json.dumps(value, separators=(",", ":")),
                "type": "button",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


@dataclass(frozen=True)
class Kind:
    """One request kind: its row label, who sends it, and what it sends (the command's text, or the
    clicked button's action id and value for the version the bot registered)."""

    name: str
    label: str
    user: str
    text: str = ""
    action_id: str = ""
    value: Callable[[int], dict[str, Any]] = dict

    def body(self, channel_id: str, response_url: str, version: int) -> str:
        if self.action_id:
            return click_body(channel_id, response_url, self.user, self.action_id, self.value(version))
        return command_body(channel_id, response_url, self.user, self.text)


#: carol (releaser, on call) reads and acts on production, alice trains, bob approves.
KINDS: tuple[Kind, ...] = (
    Kind("status", "/mlops status", "carol", text="status"),
    Kind("help", "/mlops help", "carol", text="help"),
    Kind("train", "/mlops train", "alice", text="train"),
    Kind("approve", "Approve click", "bob", action_id="release_approve", value=lambda v: {"v": v}),
    Kind(
        "promote",
        "Promote click (asks to confirm)",
        "carol",
        action_id="release_promote",
        value=lambda v: {"v": v},
    ),
    # production serves nothing, not v+1: answered as out of date, nothing is rolled back
    Kind(
        "rollback_confirm",
        "Rollback Confirm click",
        "carol",
        action_id="rollback_confirm",
        value=lambda v: {"env": "production", "from": v + 1, "to": v},
    ),
)
BARE_ACTIONS = tuple(kind.action_id for kind in KINDS if kind.action_id)


def _request(host: str, secret: str, body: str) -> bytes:
    """A complete signed HTTP/1.1 request, built before the clock starts."""
    payload = body.encode()
    head = ["POST /slack/events HTTP/1.1", f"host: {host}", f"content-length: {len(payload)}"]
    head += [f"{k}: {v}" for k, v in _headers(secret, body).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """Send one request on a kept-alive connection and read the whole response; its status code."""
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
        elif name.strip().lower() == "transfer-encoding" and "chunked" in value.lower():
            raise RuntimeError("chunked responses are not expected from an acknowledgement")
    if length:
        await reader.readexactly(length)
    return int(lines[0].split(" ", 2)[1])


async def _load(
    url: str, secret: str, bodies: list[str], concurrency: int, budget_s: float
) -> dict[str, Any]:
    """Closed loop: ``concurrency`` connections, each sending its next request when answered.

    Raw HTTP on asyncio streams keeps the load generator's own CPU cost (which shares the two
    cores with the servers) far below an HTTP client library's.
    """
    host = url.removeprefix("http://")
    address, port = host.rsplit(":", 1)
    requests = [_request(host, secret, body) for body in bodies]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    position = 0

    async def worker() -> None:
        nonlocal position
        reader, writer = await asyncio.open_connection(address, int(port))
        try:
            while position < len(requests):
                request = requests[position]
                position += 1
                t = time.perf_counter()
                code = await _exchange(reader, writer, request)
                latencies.append((time.perf_counter() - t) * 1000)
                statuses[code] = statuses.get(code, 0) + 1
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.wait_for(
        asyncio.gather(*(worker() for _ in range(min(concurrency, len(requests))))), budget_s
    )
    wall = time.perf_counter() - t0
    return {"latencies": latencies, "statuses": statuses, "wall_s": wall}


def _wait_idle(url: str, timeout: float = IDLE_TIMEOUT_S) -> float:
    import httpx

    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        state = httpx.get(f"{url}/bench/idle", timeout=5).json()
        if state["listeners"] == 0 and state["outbox"] == 0:
            return time.perf_counter() - t0
        time.sleep(0.1)
    raise RuntimeError(f"{url} still busy after {timeout:.0f} s")


def run(
    *,
    quick: bool = False,
    requests: int | None = None,
    concurrency: int = 50,
    rounds: int | None = None,
    kinds: Sequence[str] | None = None,
    train_parameters: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Acks of the bot and a bare Bolt app for each of ``kinds`` (default: all of ``KINDS``), then the
    Approve clicks while Slack's user-group API hangs; ``train_parameters`` are those of the run that
    registers the version the clicks name (the pipeline's defaults if not given).

    ``requests`` per kind and app: 1,000 (``quick``: 400, in two rounds instead of four).
    """
    requests = requests if requests is not None else (QUICK_REQUESTS if quick else 1000)
    chosen = [kind for kind in KINDS if kinds is None or kind.name in kinds]
    if kinds is not None and len(chosen) != len(set(kinds)):
        names = ", ".join(kind.name for kind in KINDS)
        raise ValueError(f"unknown request kind in {list(kinds)}; the kinds are {names}")
    if requests < 1 or concurrency < 1:
        raise ValueError(f"requests and concurrency must be >= 1, got {requests} and {concurrency}")
    rounds = rounds or (2 if quick else 4)
    per_round = max(1, requests // rounds)
    warmup = min(50, per_round)
    secret = secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_", "SLACK_"))}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    env["BENCH_TRAIN_PARAMETERS"] = json.dumps(dict(train_parameters or {}))
    children: list[Child] = []
    with tempfile.TemporaryDirectory(prefix="mlops-bench-ack-") as tmp:
        logdir = Path(tmp)
        try:
            slack = _start("slack", ["slack", "--urls", str(2 * (per_round * rounds + warmup))], env, logdir)
            children.append(slack)
            app_env = {
                **env,
                "BENCH_SLACK_API": slack.info["api_url"],
                "BENCH_SLACK_TOKEN": slack.info["token"],
                "BENCH_SECRET": secret,
            }
            # The three apps start side by side (the two bots each train a model first); the hung-groups
            # bot idles until its turn, after the other two have stopped.
            bot, bare, hung = _start_all(
                [
                    ("bot", app_env),
                    ("bare", app_env),
                    ("hungbot", {**app_env, "BENCH_GROUP_TTL": str(HUNG_GROUP_TTL_S)}),
                ],
                logdir,
                children,
            )
            version = int(bot.info["version"])
            channel_id = slack.info["channel_id"]
            results: dict[str, Any] = {}
            for kind in chosen:
                urls: list[str] = list(slack.info["urls"][kind.name])

                def make(url: str, kind: Kind = kind) -> str:
                    return kind.body(channel_id, url, version)

                samples: dict[str, list[float]] = {"bot": [], "bare": []}
                statuses: dict[str, dict[int, int]] = {"bot": {}, "bare": {}}
                walls: dict[str, float] = {"bot": 0.0, "bare": 0.0}
                drain_s = 0.0
                for target in (bot, bare):  # warm-up: role lookups, first imports on the lazy path
                    bodies = [make(urls.pop()) for _ in range(warmup)]
                    asyncio.run(_load(target.info["url"], secret, bodies, concurrency, 60))
                    drain_s += _wait_idle(bot.info["url"])
                for r in range(rounds):
                    order = (bot, bare) if r % 2 == 0 else (bare, bot)
                    for target in order:
                        bodies = [make(urls.pop()) for _ in range(per_round)]
                        out = asyncio.run(_load(target.info["url"], secret, bodies, concurrency, 120))
                        samples[target.name] += out["latencies"]
                        walls[target.name] += out["wall_s"]
                        for code, count in out["statuses"].items():
                            statuses[target.name][code] = statuses[target.name].get(code, 0) + count
                        drain_s += _wait_idle(bot.info["url"])
                bot_s, bare_s = latency_summary(samples["bot"]), latency_summary(samples["bare"])
                results[kind.name] = {
                    "label": kind.label,
                    "answers": _answers(slack),
                    "bot": {**bot_s, "statuses": statuses["bot"], "rps": len(samples["bot"]) / walls["bot"]},
                    "bare": {
                        **bare_s,
                        "statuses": statuses["bare"],
                        "rps": len(samples["bare"]) / walls["bare"],
                    },
                    "p99_ratio": bot_s["p99_ms"] / bare_s["p99_ms"],
                    "p50_ratio": bot_s["p50_ms"] / bare_s["p50_ms"],
                    "background_drain_s": drain_s,
                    "met": bot_s["p99_ms"] / bare_s["p99_ms"] <= GOAL_RATIO,
                }
            for child in (bot, bare):
                child.stop()
                children.remove(child)
            approve = next(kind for kind in KINDS if kind.name == "approve")
            results["groups_hang"] = _hung_groups(
                slack,
                hung,
                secret,
                lambda url: approve.body(channel_id, url, version),
                list(slack.info["urls"]["approve"]),  # each used once more: a response URL takes five
                warmup,
                per_round,
                rounds,
                concurrency,
            )
        finally:
            errors: list[str] = []
            stderr: dict[str, str] = {}
            for child in reversed(children):
                tail = child.stop()
                if tail.strip():
                    stderr[child.name] = tail
                if child.proc.returncode not in (0, None):
                    errors.append(f"{child.name} exited {child.proc.returncode}")
    return {
        "machine": machine(),
        "setup": {
            "requests_per_kind_per_app": per_round * rounds,
            "concurrency": concurrency,
            "rounds": rounds,
            "warmup_per_app": warmup,
            "version_clicked": version,
            "kinds": [kind.name for kind in chosen],
        },
        **results,
        "goal_p99_ratio": GOAL_RATIO,
        "child_errors": errors,
        "child_stderr": stderr,
    }


def _answers(slack: Child) -> dict[str, int]:
    """What the bot answered through response URLs since last asked: each text (its start) and how often."""
    assert slack.proc.stdin is not None and slack.proc.stdout is not None
    slack.proc.stdin.write("answers\n")
    slack.proc.stdin.flush()
    counts: dict[str, int] = json.loads(slack.proc.stdout.readline())
    return counts


def _tell(slack: Child, command: str) -> None:
    assert slack.proc.stdin is not None and slack.proc.stdout is not None
    slack.proc.stdin.write(command + "\n")
    slack.proc.stdin.flush()
    if slack.proc.stdout.readline().strip() != "OK":
        raise RuntimeError(f"the Slack server did not take {command!r}")


def _hung_groups(
    slack: Child,
    bot: Child,
    secret: str,
    make: Callable[[str], str],
    urls: list[str],
    warmup: int,
    per_round: int,
    rounds: int,
    concurrency: int,
) -> dict[str, Any]:
    """Approve clicks while Slack's user-group API answers, then while it hangs, round by round.

    The bot's role cache has a short TTL here, so that refreshes keep falling due during the load;
    a hung refresh must cost the acks nothing.
    """
    url = bot.info["url"]
    asyncio.run(_load(url, secret, [make(urls.pop()) for _ in range(warmup)], concurrency, 60))
    _wait_idle(url)
    samples: dict[str, list[float]] = {"normal": [], "hung": []}
    statuses: dict[str, dict[int, int]] = {"normal": {}, "hung": {}}
    try:
        for r in range(rounds):
            for phase in ("normal", "hung") if r % 2 == 0 else ("hung", "normal"):
                _tell(slack, "hold" if phase == "hung" else "release")
                bodies = [make(urls.pop()) for _ in range(per_round)]
                out = asyncio.run(_load(url, secret, bodies, concurrency, 120))
                samples[phase] += out["latencies"]
                for code, count in out["statuses"].items():
                    statuses[phase][code] = statuses[phase].get(code, 0) + count
                _wait_idle(url)
    finally:
        _tell(slack, "release")
    normal, hung = latency_summary(samples["normal"]), latency_summary(samples["hung"])
    ratio = hung["p99_ms"] / normal["p99_ms"]
    return {
        "normal": {**normal, "statuses": statuses["normal"]},
        "hung": {**hung, "statuses": statuses["hung"]},
        "p99_ratio": ratio,
        "goal_ratio": GOAL_HUNG_RATIO,
        "met": ratio <= GOAL_HUNG_RATIO and set(statuses["hung"]) == {200},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_REQUESTS} requests a kind, two rounds")
    parser.add_argument("--requests", type=int, help="requests per kind and app (default 1000)")
    parser.add_argument("--kinds", nargs="+", choices=[kind.name for kind in KINDS], help="default: all")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--serve", choices=["slack", "bot", "bare", "hungbot"], help=argparse.SUPPRESS)
    parser.add_argument("--urls", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve == "slack":
        _serve_slack(args.urls)
    elif args.serve:
        _serve_app(args.serve)
    else:
        result = run(quick=args.quick, requests=args.requests, concurrency=args.concurrency, kinds=args.kinds)
        json.dump(result, sys.stdout, indent=2)
        print()
        g = result["groups_hang"]
        mark = "✓" if g["met"] else "✗"
        print(
            f"{mark} Approve ack p99 while Slack's user-group API hangs: {g['hung']['p99_ms']:.1f} ms; "
            f"normal: {g['normal']['p99_ms']:.1f} ms ({g['p99_ratio']:.2f}×, goal ≤ {GOAL_HUNG_RATIO}×)"
        )


if __name__ == "__main__":
    main()
