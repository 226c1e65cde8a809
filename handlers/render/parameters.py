"""How a run's parameters are shown: only what differs from the defaults, the data set by file name.

Policy parameters are the same for every run (the accuracy threshold is shown by the quality gate),
and ``InputData`` may be a path on the bot's host: messages name its file, never its folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from ml.parameters import PARAMETERS, format_value

__all__ = ["changed_parameters", "data_file_name"]

_NOT_LISTED = frozenset({"AccuracyThreshold", "ModelApprovalStatus", "InputData"})


def _is_default(name: str, value: Any) -> bool:
    spec = PARAMETERS.get(name)
    if spec is None or spec.default is None:
        return False
    try:
        return float(value) == float(spec.default)
    except (TypeError, ValueError):
        return str(value) == format_value(spec.default)


def changed_parameters(parameters: Mapping[str, Any]) -> str:
    """``name=value, …`` of the parameters that differ from the defaults, or ``defaults``."""
    changed = {k: v for k, v in parameters.items() if k not in _NOT_LISTED and not _is_default(str(k), v)}
    if not changed:
        return "defaults"
    return ", ".join(f"{k}={v}" for k, v in sorted(changed.items(), key=lambda kv: str(kv[0])))


def data_file_name(parameters: Mapping[str, Any]) -> str:
    """The file name of ``InputData`` (a local path or an S3 URI); "" when none was recorded."""
    given = str(parameters.get("InputData", "") or "")
    return PurePosixPath(given.replace("\\", "/")).name if given else ""
