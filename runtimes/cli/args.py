"""The ``mlops-bot`` argument parser: subcommands, their arguments and the checks on each value."""

from __future__ import annotations

import argparse
import re
from datetime import timedelta
from pathlib import Path

from bot.core.freezes import MAX_BREAK_GLASS_REASON, parse_duration
from bot.core.models import AUDITED_ACTIONS
from ml.platform import ENVIRONMENTS

RELEASE_COMMANDS = (
    "train",
    "stop",
    "status",
    "approve",
    "reject",
    "request-approval",
    "deploy",
    "validate",
    "promote",
    "rollback",
    "rollout",
    "history",
    "audit",
    "dead-letters",
    "drift",
    "freeze",
    "unfreeze",
    "card",
)


YES_HELP = "confirm the change without being asked (for scripts; on a terminal the command asks)"
AUDIT_DEFAULT = 20
AUDIT_MAX = 1000


class UsageError(Exception):
    """A command that cannot run as given (exit code 2)."""


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


def duration_arg(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def reason_arg(text: str) -> str:
    """A break-glass reason: not empty, short enough for the chat's confirmation button."""
    reason = text.strip()
    if not reason:
        raise argparse.ArgumentTypeError('break-glass needs a reason, e.g. --break-glass "hotfix INC-42"')
    if len(reason) > MAX_BREAK_GLASS_REASON:
        raise argparse.ArgumentTypeError(
            f"a break-glass reason is at most {MAX_BREAK_GLASS_REASON} characters"
        )
    return reason


def key_value(text: str) -> tuple[str, str]:
    if "=" not in text or text.startswith("="):
        raise argparse.ArgumentTypeError(f"{text!r} is not key=value (e.g. max_depth=4)")
    key, value = text.split("=", 1)
    return key.strip(), value.strip()


def audit_limit(args: argparse.Namespace) -> int:
    """How many entries ``audit`` shows: its count, given as ``--limit N`` or a bare ``N``."""
    if args.count is not None and args.limit is not None and args.count != args.limit:
        raise UsageError(f"audit: give the count once (got {args.count} and --limit {args.limit})")
    limit = next((n for n in (args.count, args.limit) if n is not None), AUDIT_DEFAULT)
    if not 1 <= limit <= AUDIT_MAX:
        raise UsageError(f"audit takes a count from 1 to {AUDIT_MAX}, not {limit}")
    return int(limit)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlops-bot", description="Coordinate ML model releases.")
    base = argparse.ArgumentParser(add_help=False)
    base.add_argument(
        "--as", dest="user", help="who acts: a user of MLOPS_HOME/users.json (local platform only)"
    )
    base.add_argument("--home", type=Path, help="data directory (default MLOPS_HOME or ./.mlops)")
    common = argparse.ArgumentParser(add_help=False, parents=[base])
    common.add_argument("--json", action="store_true", help="machine-readable output")
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
    p = sub.add_parser(
        "request-approval",
        parents=[common],
        help="restart the approval window of a version whose approval expired",
    )
    p.add_argument("version", type=version_arg)
    p = sub.add_parser("deploy", parents=[common], help="deploy an approved version to staging")
    p.add_argument("version", type=version_arg)
    p.add_argument("environment", type=env_arg)
    p = sub.add_parser("validate", parents=[common], help="validate what staging serves")
    p.add_argument("version", type=version_arg, nargs="?")
    p = sub.add_parser("promote", parents=[common], help="promote a validated version to production")
    p.add_argument("version", type=version_arg)
    p.add_argument("--yes", "-y", action="store_true", help=YES_HELP)
    p.add_argument(
        "--break-glass",
        type=reason_arg,
        metavar="REASON",
        help="oncall only: promote through a production freeze, for this reason (announced and audited)",
    )
    p.add_argument(
        "--rollout",
        metavar="POLICY",
        help='how traffic moves for this promote: "canary 10%% 5m", "linear 20%% 2m" or "all-at-once", '
        'optionally followed by "bake 10m" (default: MLOPS_PRODUCTION_ROLLOUT)',
    )
    p = sub.add_parser("rollback", parents=[common], help="roll an environment back to an earlier version")
    p.add_argument("environment", type=env_arg)
    p.add_argument("version", type=version_arg, nargs="?")
    p.add_argument("--yes", "-y", action="store_true", help=YES_HELP)
    p = sub.add_parser(
        "rollout",
        parents=[common],
        help="stop (and roll back) or finish the rollout running on an environment",
    )
    p.add_argument(
        "verb",
        choices=("stop", "finish"),
        help="stop: all traffic back to the old version; finish: all traffic to the new one now",
    )
    p.add_argument("environment", type=env_arg)
    p = sub.add_parser("history", parents=[common], help="deployment history of an environment")
    p.add_argument("environment", type=env_arg)
    p = sub.add_parser(
        "audit", parents=[base], help="the newest audit entries, filtered, as text, JSON or CSV"
    )
    p.add_argument("count", type=int, nargs="?", metavar="N", help=f"as --limit (default {AUDIT_DEFAULT})")
    p.add_argument("--limit", type=int, metavar="N", help=f"how many entries, 1 to {AUDIT_MAX}")
    p.add_argument(
        "--version", type=version_arg, metavar="vN", help="only entries about this model version (v3 or 3)"
    )
    p.add_argument("--actor", metavar="NAME", help="only entries by this person (a name or a user id)")
    p.add_argument(
        "--action",
        type=str.lower,
        choices=[a.value for a in AUDITED_ACTIONS],
        metavar="ACTION",
        help=f"only entries of this action: {', '.join(a.value for a in AUDITED_ACTIONS)}",
    )
    export = p.add_mutually_exclusive_group()
    export.add_argument("--json", action="store_true", help="a JSON array, one object per entry")
    export.add_argument("--csv", action="store_true", help="CSV with a header row (RFC 4180)")
    p = sub.add_parser("drift", parents=[common], help="PSI of an environment's inputs against its baseline")
    p.add_argument("environment", type=env_arg)
    p.add_argument("--data", type=Path, metavar="FILE.csv", help="check these rows, not captured traffic")
    p.add_argument(
        "--since", default="24h", help="captured traffic of the last 30m, 24h, 7d, … (default 24h)"
    )
    p = sub.add_parser(
        "freeze", parents=[common], help="refuse deploy and promote to an environment for a while"
    )
    p.add_argument("environment", type=env_arg)
    p.add_argument("duration", type=duration_arg, help="30m, 4h, 3d, … (at most 30d)")
    p.add_argument("reason", nargs="+", help="why (shown with every refusal)")
    p = sub.add_parser("unfreeze", parents=[common], help="lift a typed freeze before it ends")
    p.add_argument("environment", type=env_arg)
    p = sub.add_parser(
        "card", parents=[base], help="a version's model card: evidence, decisions, deployments"
    )
    p.add_argument("version", type=version_arg)
    card_format = p.add_mutually_exclusive_group()
    card_format.add_argument("--json", action="store_true", help="JSON (fields documented in README)")
    card_format.add_argument("--md", action="store_true", help="Markdown (the default)")
    p = sub.add_parser("dead-letters", parents=[common], help="Slack messages given up on, newest first")
    p.add_argument("limit", type=int, nargs="?", default=20)

    p = sub.add_parser("shell", help="the terminal chat on the local platform (the main job)")
    p.add_argument("--home", type=Path)
    p.add_argument("--as", dest="user")
    p.add_argument("--no-color", action="store_true", help="plain text even on a terminal (as NO_COLOR=1)")
    p = sub.add_parser("demo", help="a scripted full release in the terminal chat")
    p.add_argument("--home", type=Path)
    p.add_argument("--data", metavar="FILE", help="train on FILE (under MLOPS_DATA_DIR), not bundled data")
    p = sub.add_parser("serve", help="HTTP server for Slack and incoming events")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    sub.add_parser("socket", help="connect to Slack with Socket Mode")
    return parser
