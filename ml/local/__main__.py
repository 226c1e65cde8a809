"""``python -m ml.local``: run or stop the endpoint host of a local platform home.

python -m ml.local serve-endpoints --home ~/.mlops/local [--port 8080] [--capture-percent 100]
python -m ml.local stop-endpoints --home ~/.mlops/local
python -m ml.local endpoints-status --home ~/.mlops/local
python -m ml.local set-alarm --home ~/.mlops/local NAME ALARM|OK|INSUFFICIENT_DATA [--reason TEXT]
python -m ml.local chaos --home ~/.mlops/local --version N --error-rate 0.5 [--latency-ms 300]
python -m ml.local chaos --home ~/.mlops/local [--version N] --off
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from ml.platform import PlatformError

from .capture import CaptureSettings
from .chaos import clear_chaos, set_chaos
from .endpoints import live_host, serve, stop_host_process
from .registry import Registry
from .rollout import ALARM_STATES, set_alarm


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.local", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve-endpoints", help="serve the home's endpoints (foreground)")
    serve_cmd.add_argument("--home", type=Path, required=True)
    serve_cmd.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve_cmd.add_argument("--port", type=int, default=0, help="port to bind (default: any free port)")
    defaults = CaptureSettings()
    serve_cmd.add_argument(
        "--capture-percent", type=int, default=defaults.percent, help="share of invocations captured, 0-100"
    )
    serve_cmd.add_argument(
        "--capture-max-bytes", type=int, default=defaults.max_bytes, help="bound on the capture folder"
    )
    for name, text in (("stop-endpoints", "stop the running host"), ("endpoints-status", "show the host")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--home", type=Path, required=True)
    alarm_cmd = commands.add_parser("set-alarm", help="set an alarm the rollout guard watches")
    alarm_cmd.add_argument("--home", type=Path, required=True)
    alarm_cmd.add_argument("name")
    alarm_cmd.add_argument("state", choices=ALARM_STATES)
    alarm_cmd.add_argument("--reason", default="")
    chaos_cmd = commands.add_parser("chaos", help="make a version fail or slow down (a testing tool)")
    chaos_cmd.add_argument("--home", type=Path, required=True)
    chaos_cmd.add_argument("--version", type=int, help="the model version it applies to")
    chaos_cmd.add_argument("--error-rate", type=float, default=0.0, help="share of invocations failed, 0-1")
    chaos_cmd.add_argument("--latency-ms", type=int, default=0, help="latency added to each invocation")
    chaos_cmd.add_argument("--off", action="store_true", help="turn chaos off (for --version N, or all)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    home = Path(args.home).expanduser()
    if args.command == "serve-endpoints":
        try:
            capture = CaptureSettings(percent=args.capture_percent, max_bytes=args.capture_max_bytes)
        except ValueError as exc:
            parser.error(str(exc))
        serve(home, host=args.host, port=args.port, capture=capture)
        return 0
    if args.command == "set-alarm":
        try:
            set_alarm(home, args.name, args.state, args.reason)
        except PlatformError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"{args.name} is {args.state}")
        return 0
    if args.command == "chaos":
        return _chaos(parser, home, args)
    if args.command == "stop-endpoints":
        stopped = stop_host_process(home)
        print("stopped" if stopped else "no endpoint host is running")
        return 0
    record = live_host(home)
    if record is None:
        print("no endpoint host is running")
        return 1
    print(json.dumps(record.__dict__, indent=2))
    return 0


def _chaos(parser: argparse.ArgumentParser, home: Path, args: argparse.Namespace) -> int:
    if not (home / "registry.db").is_file():
        print(f"error: {home} is not a platform home (no registry.db)", file=sys.stderr)
        return 2
    if args.off:
        if args.error_rate or args.latency_ms:
            parser.error("--off takes no --error-rate or --latency-ms")
        cleared = clear_chaos(home, args.version)
        print(f"chaos off for {', '.join(f'v{v}' for v in cleared)}" if cleared else "chaos was not on")
        return 0
    if args.version is None:
        parser.error("--version N is required (or --off to turn chaos off)")
    registry = Registry(home / "registry.db")
    try:
        registered = registry.registered_versions()
        chaos = set_chaos(
            home,
            args.version,
            error_rate=args.error_rate,
            latency_ms=args.latency_ms,
            version_exists=registered.__contains__,
        )
    except PlatformError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        registry.close()
    print(
        f"chaos on for v{args.version}: error rate {chaos.error_rate:g}, added latency {chaos.latency_ms} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
