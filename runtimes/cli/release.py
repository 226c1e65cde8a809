"""The CLI's release commands: act through the release core as a person, and print what happened."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable

from bot.core.models import Action, Actor, AuditFilter, Result
from bot.core.service import local_owner_is_dead
from bot.services import Services, build_services
from bot.settings import Settings
from bot.users import load_users
from handlers.commands.freeze_words import quoted
from ml.platform import Execution
from ml.rollout_policy import USAGE as ROLLOUT_USAGE
from ml.rollout_policy import RolloutPolicy
from runtimes.cli.args import UsageError, audit_limit
from runtimes.cli.card import card_command
from runtimes.cli.confirm import ask_first
from runtimes.cli.drift import drift_command, since_arg
from runtimes.cli.identity import resolve_actor
from runtimes.cli.output import result_json, result_line, to_jsonable
from runtimes.cli.reports import Reports


class Cli(Reports):
    """The release commands of one invocation, acting as ``actor``."""

    def __init__(self, services: Services, actor: Actor | None, as_json: bool, out: Callable[[str], None]):
        super().__init__(services, as_json, out)
        self.actor = actor
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
            self.out(f"{mark} {result_line(result)}")
            for r in results:
                self.out(f"  → {result_line(r)}")
        if not result.ok:
            print(f"mlops-bot: {result.outcome.value}: {result_line(result)}", file=sys.stderr)
            return 1
        return 0

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


def run_release_command(args: argparse.Namespace, settings: Settings) -> int:
    limit = audit_limit(args) if args.command == "audit" else 0  # checked before anything runs
    try:
        actor = resolve_actor(settings, args.user or _env_user(), args.command)
    except PermissionError as exc:  # a principal nobody mapped, for a command that changes things
        print(f"mlops-bot: refused: {exc}", file=sys.stderr)
        return 1
    services = build_services(settings)
    try:
        for settled in services.release.recover(local_owner_is_dead):
            print(f"! {result_line(settled)}", file=sys.stderr)
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
            case "request-approval":
                return cli.finish(services.release.request_approval(cli.who(), args.version))
            case "deploy":
                return cli.finish(services.release.deploy(cli.who(), args.version, args.environment))
            case "validate":
                return cli.finish(services.release.validate(cli.who(), args.version))
            case "promote":
                glass = args.break_glass or ""
                rollout = rollout_arg(settings, args.rollout)
                plan = services.release.promote_plan(args.version, cli.who(), glass, rollout)
                if refused := ask_first(plan, args.yes):
                    return refused
                return cli.finish(services.release.promote(cli.who(), args.version, glass, rollout))
            case "rollout":
                if args.verb == "stop":
                    return cli.finish(services.release.stop_rollout(cli.who(), args.environment))
                return cli.finish(services.release.finish_rollout(cli.who(), args.environment))
            case "rollback":
                if refused := ask_first(
                    services.release.rollback_plan(args.environment, args.version), args.yes
                ):
                    return refused
                return cli.finish(services.release.rollback(cli.who(), args.environment, args.version))
            case "history":
                return cli.history(args.environment)
            case "freeze":
                reason = quoted(args.reason)
                return cli.finish(services.release.freeze(cli.who(), args.environment, args.duration, reason))
            case "unfreeze":
                return cli.finish(services.release.unfreeze(cli.who(), args.environment))
            case "audit":
                return cli.audit(limit, audit_filter(args), as_csv=args.csv)
            case "dead-letters":
                return cli.dead_letters(args.limit)
            case "drift":
                since = since_arg(args.since)
                return drift_command(services, args.environment, args.data, since, args.json, print)
            case "card":
                return card_command(services, args.version, args.json, print)
        raise UsageError(f"unknown command {args.command}")
    finally:
        services.close()


def rollout_arg(settings: Settings, text: str | None) -> RolloutPolicy | None:
    """``--rollout``, read with the configured bake and timeout; a bad one is a usage error saying why."""
    if text is None:
        return None
    try:
        return settings.parse_rollout(text)
    except ValueError as exc:
        said = str(exc) if ROLLOUT_USAGE in str(exc) else f"{exc}; {ROLLOUT_USAGE}"
        raise UsageError(f"promote --rollout: {said}") from None


def audit_filter(args: argparse.Namespace) -> AuditFilter:
    actor = args.actor.removeprefix("@") if args.actor else None
    return AuditFilter(args.version, actor or None, Action(args.action) if args.action else None)


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
