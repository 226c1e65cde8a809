"""``python -m ml.local``: run or stop the endpoint host of a local platform home.

python -m ml.local serve-endpoints --home ~/.mlops/local [--port 8080] [--capture-percent 100]
python -m ml.local stop-endpoints --home ~/.mlops/local
python -m ml.local endpoints-status --home ~/.mlops/local
python -m ml.local set-alarm --home ~/.mlops/local NAME ALARM|OK|INSUFFICIENT_DATA [--reason TEXT]
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
from .endpoints import live_host, serve, stop_host_process
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


if __name__ == "__main__":
    sys.exit(main())
