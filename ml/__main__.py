"""``python -m ml``: the ML side's own commands (validation, SageMaker pipeline)."""

from __future__ import annotations

import sys

USAGE = """usage: python -m ml <command> [options]

commands:
  validate   check an endpoint (ping, response shape, accuracy, latency) and print a JSON report
  pipeline   the SageMaker pipeline: definition | upsert | start | wait | results
"""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "validate":
        from ml.validate import main as validate_main

        return validate_main(rest)
    if command == "pipeline":
        from ml.pipeline_cli import main as pipeline_main

        return pipeline_main(rest)
    print(f"unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
