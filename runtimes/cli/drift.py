"""``mlops-bot drift ENV``: compare what an environment's model sees with its training baseline.

Reads only. The rows are ``--data FILE.csv`` (raw training layout, label optional) or the traffic the
environment's endpoint captured in the last ``--since`` (``MLPlatform.captured_traffic``: locally
``MLOPS_HOME/capture/<endpoint>/…``, on SageMaker the data-capture prefix in S3). Exit codes: 0 no drift, 3 a
warning (some PSI from 0.1 to 0.25), 4 drift (some PSI above 0.25); as for every command, 1 when
the check cannot run (the environment serves nothing, the version has no baseline, no traffic in the
window) and 2 for usage errors (a bad ``--since``, an unreadable CSV).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.services import Services
from ml.drift.environment import DriftUnavailable, check_environment, parse_since
from ml.platform import Environment
from runtimes.cli.args import UsageError

EXIT_BY_STATUS = {"ok": 0, "warn": 3, "drift": 4}


def since_arg(text: str) -> timedelta:
    """``30m``, ``24h`` or ``7d``."""
    try:
        return parse_since(text)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None


def drift_command(
    services: Services,
    environment: Environment,
    data: Path | None,
    since: timedelta,
    as_json: bool,
    out: Callable[[str], None],
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    try:
        # ValueError (a bad CSV) is a usage error: exit 2 with the line and the problem
        found = check_environment(services.platform, environment, since, now(), data)
    except DriftUnavailable as exc:
        print(f"mlops-bot: refused: {exc}", file=sys.stderr)
        return 1
    report, version = found.report, found.version
    if as_json:
        doc = {"environment": environment, "version": version, "source": found.source}
        out(json.dumps({**doc, **report.to_dict()}, indent=2))
    else:
        window = f", {report.window[0]} to {report.window[1]}" if report.window else ""
        skipped = f", {report.skipped} skipped" if report.skipped else ""
        malformed = found.source.get("malformed")
        skipped += f", {malformed} malformed lines" if malformed else ""
        out(f"{environment} v{version}: {report.status} ({report.rows} rows{skipped}{window})")
        parts = sorted([*report.features, *([report.score] if report.score else [])], key=lambda f: -f.psi)
        for f in parts:
            out(f"  {f.name:<16} PSI {f.psi:7.4f}  {f.status}")
    return EXIT_BY_STATUS[report.status]
