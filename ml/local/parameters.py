"""What a caller may ask of a local run: the one spec (``ml.parameters``) and where data may come from.

``InputData`` names the bundled Adult training file or a file under the data directory
(``MLOPS_DATA_DIR``, default ``<home>/data``). The path is resolved first (``..`` and symlinks
followed) and only then checked for containment, so neither a ``../`` escape nor a symlink inside the
directory pointing out of it gets through. Anything else gets one message, whatever the path: the
answer never tells an existing file from a missing one, and nothing outside the allowed places is
opened or read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ml.parameters import (
    LOCAL,
    REGISTERED_STATUS,
    ParameterError,
    ParameterSpec,
    RunPolicy,
    Value,
    format_value,
    parse_overrides,
    settable,
    with_default,
)
from ml.platform import InvalidRequest

INPUT_RULE = (
    "InputData must be the bundled Adult training data (the default) or a file under the data "
    "directory (MLOPS_DATA_DIR)."
)


_bundled: list[Path] = []


def bundled_training_data() -> Path | None:
    """The bundled Adult training file, resolved once found (every ``/mlops train`` and help asks)."""
    from ml import datasets

    if _bundled:
        return _bundled[0]
    try:
        found = datasets.adult_train_path().resolve()
    except FileNotFoundError:
        return None  # not remembered: data installed later is found then
    _bundled.append(found)
    return found


def specs() -> dict[str, ParameterSpec]:
    """The parameters a caller may give, with this machine's defaults."""
    out = settable(LOCAL)
    bundled = bundled_training_data()
    out["InputData"] = with_default(out["InputData"], str(bundled) if bundled else "")
    return out


@dataclass(frozen=True)
class RunValues:
    """A run's checked parameters: typed for the steps, as text for the record."""

    input_path: Path
    target: str
    threshold: float
    hyperparameters: dict[str, int | float]
    #: every parameter the run used, policy ones included, as text
    recorded: dict[str, str]


def resolve_run(given: Mapping[str, str], *, policy: RunPolicy, data_dir: Path) -> RunValues:
    """Check ``given`` against the spec, the policy and the input rule; fill in the defaults."""
    try:
        values: dict[str, Value] = dict(parse_overrides(given, LOCAL, policy))
    except ParameterError as exc:
        raise InvalidRequest(str(exc)) from None
    available = specs()
    if "InputData" in values:
        path = input_path(str(values["InputData"]), data_dir)
    else:
        bundled = bundled_training_data()
        if bundled is None:
            raise InvalidRequest("InputData is required: the bundled Adult data is not installed")
        path = bundled
    values["InputData"] = str(path)
    values.setdefault("AccuracyThreshold", policy.default_threshold)
    for name, spec in available.items():
        values.setdefault(name, spec.default)
    hyperparameters = {
        name: value
        for name, value in values.items()
        if available[name].hyperparameter and isinstance(value, int | float)
    }
    recorded = {name: format_value(values[name]) for name in available}
    recorded["ModelApprovalStatus"] = REGISTERED_STATUS
    return RunValues(
        input_path=path,
        target=str(values["TargetColumn"]),
        threshold=float(values["AccuracyThreshold"]),
        hyperparameters=hyperparameters,
        recorded=recorded,
    )


def input_path(value: str, data_dir: Path) -> Path:
    """The resolved file ``value`` names, if it is an allowed one; InvalidRequest(INPUT_RULE) otherwise."""
    text = value.strip()
    if text.startswith("s3://"):
        raise InvalidRequest("InputData: the local platform reads local files only, not S3. " + INPUT_RULE)
    if text.startswith("file://"):
        text = unquote(urlsplit(text).path)
    if not text or "\x00" in text:
        raise InvalidRequest(INPUT_RULE)
    root = Path(os.path.realpath(data_dir))
    candidate = Path(text)
    # Resolve first, then check: realpath follows every symlink and "..", so what is checked is
    # the file that would be read.
    resolved = Path(os.path.realpath(candidate if candidate.is_absolute() else root / candidate))
    if resolved == bundled_training_data():
        return resolved
    if resolved != root and resolved.is_relative_to(root) and resolved.is_file():
        return resolved
    raise InvalidRequest(INPUT_RULE)


def version_number(version: int) -> int:
    """A model version as callers pass it (3, \"v3\"), checked; InvalidRequest otherwise."""
    if isinstance(version, bool) or not isinstance(version, int):
        try:
            version = int(str(version).strip().lstrip("vV"))
        except ValueError:
            raise InvalidRequest(f"model version {version!r} is not a number like 3 or v3") from None
    if version < 1:
        raise InvalidRequest(f"model versions start at 1, not {version}")
    return version
