"""One environment's drift: the version it serves, that version's baseline, and the rows to compare.

Shared by ``mlops-bot drift`` and ``/mlops drift`` so that both check the same rows the same way.
Standard library at import: the check's numpy and pandas load when it runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml.durations import describe_duration, read_duration
from ml.platform import Environment, MLPlatform, NotFound, PlatformError

if TYPE_CHECKING:  # numpy and pandas load only when a check runs, not with the bot's commands
    from .check import DriftReport

__all__ = ["DriftUnavailable", "EnvironmentDrift", "check_environment", "describe_since", "parse_since"]

#: the longest window a check reads (captures are kept for a bounded size anyway)
MAX_SINCE = timedelta(days=90)
#: why a version has no baseline and what to do, by ``MLPlatform.name``; on SageMaker the run's
#: preprocess step could not import ml.drift: its code prefix or pipeline definition predates ``deps/``
NO_BASELINE_ADVICE = {
    "sagemaker": (
        "its pipeline run could not write one (the pipeline code in S3 predates drift baselines); "
        "re-upload the pipeline code with `python -m ml pipeline upload-code`, update the pipeline with "
        "`python -m ml pipeline upsert`, then retrain"
    ),
}
OLD_VERSION_ADVICE = "it was trained before drift baselines existed; retrain"


class DriftUnavailable(Exception):
    """The check cannot run (nothing served, no baseline, no traffic); the message says why."""


@dataclass(frozen=True)
class EnvironmentDrift:
    environment: Environment
    version: int
    report: DriftReport
    #: where the rows came from: {"data": path} or {"capture": endpoint, "since": "24h", "malformed": n}
    source: dict[str, Any] = field(default_factory=dict)


def parse_since(text: str) -> timedelta:
    """``30m``, ``24h`` or ``7d`` (at most 90 days); ValueError naming the accepted forms."""
    since = read_duration(text, "mhd")
    if since is None:
        raise ValueError(f"a window is a duration such as 30m, 24h or 7d, not {text!r}")
    if since > MAX_SINCE:
        raise ValueError(f"a window is at most 90d, not {text!r}")
    return since


def describe_since(since: timedelta) -> str:
    return describe_duration(since)


def check_environment(
    platform: MLPlatform,
    environment: Environment,
    since: timedelta,
    now: datetime,
    data: Path | None = None,
) -> EnvironmentDrift:
    """Check ``data`` (a CSV in the training layout) or ``environment``'s traffic captured since ``since``.

    Raises DriftUnavailable when there is nothing to check, ValueError for a bad CSV.
    """
    try:
        from .capture import read_streams
        from .check import check
        from .data import read_rows
    except ImportError as exc:  # the bot's lean runtime (Lambda) does not carry numpy and pandas
        raise DriftUnavailable(
            f"this deployment cannot run the drift check ({exc.name} is not installed); run "
            f"`mlops-bot drift {environment}` where the `local` extra is installed"
        ) from exc

    try:
        version = platform.describe_endpoint(environment).version
    except NotFound:
        version = None
    if version is None:
        raise DriftUnavailable(f"{environment} serves nothing: deploy a version before checking it for drift")
    baseline = platform.baseline(version)
    if baseline is None:
        advice = NO_BASELINE_ADVICE.get(platform.name, OLD_VERSION_ADVICE)
        raise DriftUnavailable(f"v{version} has no drift baseline: {advice}")
    if data is not None:
        report = check(baseline, read_rows(data, baseline))
        return EnvironmentDrift(environment, version, report, {"data": str(data)})
    endpoint = platform.endpoint_name(environment)
    try:
        files = platform.captured_traffic(environment, now - since)
        capture = read_streams(files, list(baseline["features"]), since, now)
    except PlatformError as exc:
        raise DriftUnavailable(str(exc)) from exc
    if capture.rows.empty:
        encoded = f"; {capture.skipped} encoded rows cannot be checked" if capture.skipped else ""
        raise DriftUnavailable(
            f"no captured traffic for {environment} (endpoint {endpoint}) in the last "
            f"{describe_since(since)}{encoded}"
        )
    report = check(baseline, capture.rows, capture.scores, skipped=capture.skipped, window=capture.window)
    source = {"capture": endpoint, "since": describe_since(since), "malformed": capture.malformed}
    return EnvironmentDrift(environment, version, report, source)
