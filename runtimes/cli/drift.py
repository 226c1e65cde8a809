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
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.services import Services
from ml.platform import Environment, NotFound, PlatformError
from runtimes.cli.args import UsageError

EXIT_BY_STATUS = {"ok": 0, "warn": 3, "drift": 4}
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def since_arg(text: str) -> timedelta:
    """``30m``, ``24h`` or ``7d``."""
    match = re.fullmatch(r"\s*(\d{1,6})\s*([mhd])\s*", text.lower())
    if not match or int(match.group(1)) == 0:
        raise UsageError(f"--since takes a duration such as 30m, 24h or 7d, not {text!r}")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _describe(since: timedelta) -> str:
    seconds = int(since.total_seconds())
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def drift_command(
    services: Services,
    environment: Environment,
    data: Path | None,
    since: timedelta,
    as_json: bool,
    out: Callable[[str], None],
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    from ml.drift.capture import read_streams
    from ml.drift.check import check
    from ml.drift.data import read_rows

    platform = services.platform
    try:
        version = platform.describe_endpoint(environment).version
    except NotFound:
        version = None
    if version is None:
        return _refuse(f"{environment} serves nothing: deploy a version before checking it for drift")
    baseline = platform.baseline(version)
    if baseline is None:
        return _refuse(
            f"v{version} has no drift baseline: it was trained before drift baselines existed; retrain"
        )
    features = list(baseline["features"])
    extra: dict[str, Any] = {"environment": environment, "version": version}
    if data is not None:
        rows = read_rows(data, baseline)  # ValueError: exit 2 with the line and the problem
        report = check(baseline, rows)
        extra["source"] = {"data": str(data)}
    else:
        endpoint = platform.endpoint_name(environment)
        start = now()
        try:
            files = platform.captured_traffic(environment, start - since)
            capture = read_streams(files, features, since, start)
        except PlatformError as exc:
            return _refuse(str(exc))
        if capture.rows.empty:
            return _refuse(
                f"no captured traffic for {environment} (endpoint {endpoint}) in the last {_describe(since)}"
                + (f"; {capture.skipped} encoded rows cannot be checked" if capture.skipped else "")
            )
        report = check(baseline, capture.rows, capture.scores, skipped=capture.skipped, window=capture.window)
        extra["source"] = {"capture": endpoint, "since": _describe(since), "malformed": capture.malformed}
    if as_json:
        out(json.dumps({**extra, **report.to_dict()}, indent=2))
    else:
        window = f", {report.window[0]} to {report.window[1]}" if report.window else ""
        skipped = f", {report.skipped} skipped" if report.skipped else ""
        malformed = extra["source"].get("malformed")
        skipped += f", {malformed} malformed lines" if malformed else ""
        out(f"{environment} v{version}: {report.status} ({report.rows} rows{skipped}{window})")
        parts = sorted([*report.features, *([report.score] if report.score else [])], key=lambda f: -f.psi)
        for f in parts:
            out(f"  {f.name:<16} PSI {f.psi:7.4f}  {f.status}")
    return EXIT_BY_STATUS[report.status]


def _refuse(message: str) -> int:
    print(f"mlops-bot: refused: {message}", file=sys.stderr)
    return 1
