"""``mlops-bot``: run the release without chat, and start the bot's runtimes.

Release commands act as a local user (``--as NAME``, or ``MLOPS_USER``) whose groups
come from ``MLOPS_HOME/users.json`` on the local platform, and as the calling AWS principal
anywhere else (``runtimes.cli_identity``); they go through the same release core as Slack, with
the same policy and audit. Exit codes: 0 done (or nothing to do),
1 refused or failed (one line on stderr says why), 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, is_dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from bot.core.models import Actor, Result
from bot.core.service import StatusView, local_owner_is_dead
from bot.core.store import StoreError
from bot.notify.deadletter import dead_letters, describe
from bot.services import Services, build_services
from bot.settings import ConfigError, Settings, load_settings
from bot.users import load_users
from ml.dbfile import CorruptDatabase
from ml.platform import ENVIRONMENTS, Environment, Execution, PlatformError
from runtimes.cli_identity import resolve_actor

RELEASE_COMMANDS = (
    "train",
    "stop",
    "status",
    "approve",
    "reject",
    "deploy",
    "validate",
    "promote",
    "rollback",
    "history",
    "audit",
    "dead-letters",
)


class UsageError(Exception):
    pass


def version_arg(text: str) -> int:
    m = re.fullmatch(r"[vV]?(\d{1,9})", text.strip())
    if not m or int(m.group(1)) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a model version (expected v1, v2, … or 1, 2, …)")
    return int(m.group(1))


def env_arg(text: str) -> str:
    if text not in ENVIRONMENTS:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an environment (choose from {', '.join(ENVIRONMENTS)})"
        )
    return text


def key_value(text: str) -> tuple[str, str]:
    if "=" not in text or text.startswith("="):
        raise argparse.ArgumentTypeError(f"{text!r} is not key=value (e.g. max_depth=4)")
    key, value = text.split("=", 1)
    return key.strip(), value.strip()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlops-bot", description="Coordinate ML model releases.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--as", dest="user", help="who acts: a user of MLOPS_HOME/users.json (local platform only)"
    )
    common.add_argument("--json", action="store_true", help="machine-readable output")
    common.add_argument("--home", type=Path, help="data directory (default MLOPS_HOME or ./.mlops)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")

    p = sub.add_parser("train", parents=[common], help="start a training pipeline run")
    p.add_argument("params", nargs="*", type=key_value, metavar="key=value")
    p.add_argument("--git-sha")
    p.add_argument("--no-wait", action="store_true", help="return once the run has started")
    p.add_argument("--detached-child", action="store_true", help=argparse.SUPPRESS)
    p = sub.add_parser("stop", parents=[common], help="stop a pipeline run")
    p.add_argument("execution_id")
    p = sub.add_parser("status", parents=[common], help="environments, recent versions and runs")
    p.add_argument("target", nargs="?", help="vN, staging or production")
    p = sub.add_parser("approve", parents=[common], help="approve a version (deploys it to staging)")
    p.add_argument("version", type=version_arg)
    p.add_argument("reason", nargs="*")
    p = sub.add_parser("reject", parents=[common], help="reject a version (a reason is required)")
    p.add_argument("version", type=version_arg)
    p.add_argument("reason", nargs="+")
    p = sub.add_parser("deploy", parents=[common], help="deploy an approved version to staging")
    p.add_argument("version", type=version_arg)
    p.add_argument("environment", type=env_arg)
    p = sub.add_parser("validate", parents=[common], help="validate what staging serves")
    p.add_argument("version", type=version_arg, nargs="?")
    p = sub.add_parser("promote", parents=[common], help="promote a validated version to production")
    p.add_argument("version", type=version_arg)
    p = sub.add_parser("rollback", parents=[common], help="roll an environment back to an earlier version")
    p.add_argument("environment", type=env_arg)
    p.add_argument("version", type=version_arg, nargs="?")
    p = sub.add_parser("history", parents=[common], help="deployment history of an environment")
    p.add_argument("environment", type=env_arg)
    p = sub.add_parser("audit", parents=[common], help="the newest audit entries")
    p.add_argument("limit", type=int, nargs="?", default=20)
    p = sub.add_parser("dead-letters", parents=[common], help="Slack messages given up on, newest first")
    p.add_argument("limit", type=int, nargs="?", default=20)

    p = sub.add_parser("shell", help="the terminal chat on the local platform (the main job)")
    p.add_argument("--home", type=Path)
    p.add_argument("--as", dest="user")
    p = sub.add_parser("demo", help="a scripted full release in the terminal chat")
    p.add_argument("--home", type=Path)
    p = sub.add_parser("serve", help="HTTP server for Slack and incoming events")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    sub.add_parser("socket", help="connect to Slack with Socket Mode")
    return parser


def to_jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: to_jsonable(v) for k, v in asdict(value).items()}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    return value


def result_json(result: Result) -> dict[str, Any]:
    return {
        "action": result.action.value,
        "outcome": result.outcome.value,
        "ok": result.ok,
        "message": result.message,
        "actor": result.actor.label,
        "version": result.version,
        "environment": result.environment,
        "required_role": result.required_role.value if result.required_role else None,
        "data": to_jsonable(dict(result.data)),
    }


class Cli:
    def __init__(self, services: Services, actor: Actor | None, as_json: bool, out: Callable[[str], None]):
        self.services = services
        self.release = services.release
        self.actor = actor
        self.as_json = as_json
        self.out = out
        self.followups: list[Result] = []
        self.release.subscribe(self._collect)

    def _collect(self, result: Result) -> None:
        self.followups.append(result)

    def who(self) -> Actor:
        if self.actor is None:
            users = ", ".join(sorted(load_users(self.services.settings.mlops_home)))
            raise UsageError(f"say who acts with --as NAME (or MLOPS_USER); local users: {users}")
        return self.actor

    def finish(self, result: Result) -> int:
        """Print the result and what it set off (auto staging deploy, validation)."""
        results = [r for r in self.followups if r is not result] if result.ok else []
        if self.as_json:
            doc = result_json(result)
            doc["followups"] = [result_json(r) for r in results]
            self.out(json.dumps(doc, indent=2))
        else:
            marks = {"done": "✓", "noop": "=", "refused": "✗", "failed": "✗", "rolled_back": "↩"}
            mark = marks[result.outcome.value]
            self.out(f"{mark} {result.message}")
            for r in results:
                self.out(f"  → {r.message}")
        if not result.ok:
            print(f"mlops-bot: {result.outcome.value}: {result.message}", file=sys.stderr)
            return 1
        return 0

    # -- commands ------------------------------------------------------------
    def train(
        self, params: list[tuple[str, str]], git_sha: str | None, wait: bool, detached: bool = False
    ) -> int:
        result = self.release.train(self.who(), dict(params), git_sha)
        if detached:
            # Tell the parent which run started, then keep running it with nobody listening.
            sys.stdout.write(json.dumps(result_json(result)) + "\n")
            sys.stdout.flush()
            devnull = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
            sys.stdout = sys.stderr = devnull
            self.as_json = True
            self.out = lambda _line: None
            if not result.ok:
                return 1
            self.wait_for(str(result.data["execution_id"]))
            return 0
        if not result.ok or not wait:
            return self.finish(result)
        if not self.as_json:
            self.out(f"✓ {result.message} run {result.data['execution_id']}")
        execution = self.wait_for(str(result.data["execution_id"]))
        if self.as_json:
            self.out(json.dumps({**result_json(result), "execution": to_jsonable(execution)}, indent=2))
        else:
            outcome = execution.status.value
            extra = f": registered v{execution.model_version}" if execution.model_version else ""
            reason = f": {execution.failure_reason}" if execution.failure_reason else ""
            self.out(f"{'✓' if outcome == 'Succeeded' else '✗'} run {outcome}{extra}{reason}")
        if execution.status.value != "Succeeded":
            print(f"mlops-bot: failed: {execution.failure_reason or execution.status.value}", file=sys.stderr)
            return 1
        return 0

    def wait_for(self, execution_id: str) -> Execution:
        seen: dict[str, str] = {}
        while True:
            execution = self.services.platform.describe_execution(execution_id)
            for step in execution.steps:
                if seen.get(step.name) != step.status.value and step.status.value != "Pending":
                    seen[step.name] = step.status.value
                    if not self.as_json:
                        took = ""
                        if step.started_at and step.ended_at:
                            took = f" ({(step.ended_at - step.started_at).total_seconds():.1f} s)"
                        self.out(f"  {step.name:<15} {step.status.value}{took}")
            if execution.status.terminal:
                return execution
            time.sleep(0.2)

    def status(self, target: str | None) -> int:
        if target and target not in ENVIRONMENTS:
            return self.version_status(version_arg(target))
        view = self.release.status()
        if self.as_json:
            self.out(json.dumps(status_json(view, target), indent=2))
            return 0
        for ep in view.environments:
            if target and ep.environment != target:
                continue
            served = f"v{ep.version}" if ep.version else "nothing"
            self.out(f"{ep.environment:<11} {ep.name}: {ep.status.value}, serves {served}")
        if not target:
            for v in view.versions:
                m = v.package.metrics
                where = ",".join(v.environments) or "-"
                self.out(
                    f"v{v.version:<4} {v.approval.value:<22} acc {m.get('accuracy', 0):.3f} "
                    f"auc {m.get('auc', 0):.3f}  serving: {where}"
                )
            for e in view.executions:
                self.out(f"run {e.execution_id.rsplit('/', 1)[-1]} {e.status.value} by {e.requested_by}")
        return 0

    def version_status(self, version: int) -> int:
        try:
            v = self.release.view(version)
        except PlatformError as exc:
            print(f"mlops-bot: refused: {exc}", file=sys.stderr)
            return 1
        if self.as_json:
            self.out(json.dumps(to_jsonable(v), indent=2))
            return 0
        self.out(f"v{version}: {v.approval.value}; serving: {', '.join(v.environments) or 'nowhere'}")
        for k, val in sorted(v.package.metrics.items()):
            self.out(f"  {k:<10} {val:.4f}")
        if v.decision:
            self.out(f"  decision: {v.decision.status.value} by {v.decision.actor_name} {v.decision.reason}")
        if v.validation:
            self.out(
                f"  staging validation: {'passed' if v.validation.passed else 'FAILED'} "
                f"({v.validation.summary})"
            )
        return 0

    def history(self, environment: Environment) -> int:
        records = self.release.history(environment)
        if self.as_json:
            self.out(json.dumps(to_jsonable(records), indent=2))
            return 0
        if not records:
            self.out(f"{environment} has no deployments yet.")
        for r in records:
            prev = f" (from v{r.previous_version})" if r.previous_version else ""
            self.out(f"{r.at:%Y-%m-%d %H:%M:%S} {r.kind:<8} v{r.version}{prev} by {r.actor_name}")
        return 0

    def audit(self, limit: int) -> int:
        if not 1 <= limit <= 1000:
            raise UsageError(f"audit takes a count from 1 to 1000, not {limit}")
        entries = self.release.audit(limit)
        if self.as_json:
            self.out(json.dumps(to_jsonable(entries), indent=2))
            return 0
        for e in reversed(entries):
            self.out(
                f"{e.at:%Y-%m-%d %H:%M:%S} {e.actor_name:<12} {e.action.value:<9} {e.outcome.value:<8} "
                f"{e.target}: {e.detail}"
            )
        return 0

    def dead_letters(self, limit: int) -> int:
        if not 1 <= limit <= 1000:
            raise UsageError(f"dead-letters takes a count from 1 to 1000, not {limit}")
        rows = dead_letters(self.services.store, limit)
        if self.as_json:
            self.out(json.dumps([{"id": k, **v} for k, v in rows], indent=2))
        for key, entry in [] if self.as_json else rows:
            self.out(describe(key, entry))
        if not rows and not self.as_json:
            self.out("No dead letters: every Slack message went through.")
        return 0


def status_json(view: StatusView, target: str | None = None) -> dict[str, Any]:
    return {
        "environments": {
            ep.environment: {"endpoint": ep.name, "status": ep.status.value, "version": ep.version}
            for ep in view.environments
            if not target or ep.environment == target
        },
        "versions": [
            {
                "version": v.version,
                "approval": v.approval.value,
                "metrics": dict(v.package.metrics),
                "serving": list(v.environments),
                "validation": None if v.validation is None else v.validation.passed,
            }
            for v in view.versions
        ],
        "executions": [
            {
                "id": e.execution_id,
                "status": e.status.value,
                "requested_by": e.requested_by,
                "model_version": e.model_version,
                "failure_reason": e.failure_reason,
            }
            for e in view.executions
        ],
    }


def run_release_command(args: argparse.Namespace, settings: Settings) -> int:
    try:
        actor = resolve_actor(settings, args.user or _env_user(), args.command)
    except PermissionError as exc:  # a principal nobody mapped, for a command that changes things
        print(f"mlops-bot: refused: {exc}", file=sys.stderr)
        return 1
    services = build_services(settings)
    try:
        for settled in services.release.recover(local_owner_is_dead):
            print(f"! {settled.message}", file=sys.stderr)
        cli = Cli(services, actor, args.json, print)
        match args.command:
            case "train":
                if args.no_wait and settings.mlops_backend == "local" and not args.detached_child:
                    # Local runs live in the process that started them: hand the run to a detached one.
                    services.close()
                    return train_detached(args, settings, actor)
                return cli.train(args.params, args.git_sha, not args.no_wait, detached=args.detached_child)
            case "stop":
                return cli.finish(services.release.stop(cli.who(), args.execution_id))
            case "status":
                return cli.status(args.target)
            case "approve":
                return cli.finish(services.release.approve(cli.who(), args.version, " ".join(args.reason)))
            case "reject":
                return cli.finish(services.release.reject(cli.who(), args.version, " ".join(args.reason)))
            case "deploy":
                return cli.finish(services.release.deploy(cli.who(), args.version, args.environment))
            case "validate":
                return cli.finish(services.release.validate(cli.who(), args.version))
            case "promote":
                return cli.finish(services.release.promote(cli.who(), args.version))
            case "rollback":
                return cli.finish(services.release.rollback(cli.who(), args.environment, args.version))
            case "history":
                return cli.history(args.environment)
            case "audit":
                return cli.audit(args.limit)
            case "dead-letters":
                return cli.dead_letters(args.limit)
        raise UsageError(f"unknown command {args.command}")
    finally:
        services.close()


def _env_user() -> str | None:
    return os.environ.get("MLOPS_USER") or None


def train_detached(args: argparse.Namespace, settings: Settings, actor: Actor | None) -> int:
    """Start the run in a detached process that outlives this command, and report its id."""
    if actor is None:
        raise UsageError("say who acts with --as NAME (or MLOPS_USER)")
    argv = [
        sys.executable,
        "-m",
        "runtimes.cli",
        "train",
        "--detached-child",
        *(["--as", actor.name] if settings.local_platform else []),
        "--home",
        str(settings.mlops_home),
        *(f"{k}={v}" for k, v in args.params),
    ]
    if args.git_sha:
        argv += ["--git-sha", args.git_sha]
    child = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, start_new_session=True
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    child.stdout.close()
    try:
        doc = json.loads(line)
    except json.JSONDecodeError:
        child.wait(10)
        raise UsageError(f"the training process failed to start (exit {child.returncode})") from None
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        run_id = doc.get("data", {}).get("execution_id", "")
        print(f"{'✓' if doc['ok'] else '✗'} {doc['message']} run {run_id}".rstrip())
    if not doc["ok"]:
        print(f"mlops-bot: {doc['outcome']}: {doc['message']}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        overrides: dict[str, Any] = {}
        if getattr(args, "home", None) is not None:
            overrides["mlops_home"] = args.home
        settings = load_settings(**overrides)
        if args.command in RELEASE_COMMANDS:
            return run_release_command(args, settings)
        return run_runtime(args, settings)
    except (UsageError, ConfigError, ValueError) as exc:
        print(f"mlops-bot: {exc}", file=sys.stderr)
        return 2
    except (StoreError, CorruptDatabase) as exc:  # the message names the file or table and what to do
        print(f"mlops-bot: {exc}", file=sys.stderr)
        return 1
    except PlatformError as exc:
        print(f"mlops-bot: failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def run_runtime(args: argparse.Namespace, settings: Settings) -> int:
    """Long-running runtimes; each imports only what it needs."""
    if args.command == "shell":
        from runtimes.terminal import main_shell

        return main_shell(settings, user=args.user)
    if args.command == "demo":
        from runtimes.demo import main_demo

        return main_demo(settings)
    if args.command == "serve":
        from runtimes.http_server import main_serve

        return main_serve(settings, host=args.host, port=args.port)
    if args.command == "socket":
        from runtimes.socket_mode import main_socket

        return main_socket(settings)
    raise UsageError(f"unknown command {args.command}")


if __name__ == "__main__":
    raise SystemExit(main())
