"""Every pipeline parameter, defined once: type, bounds, default, description, and who sets it.

Read by both platforms' validation (``ml.local``, ``ml.sagemaker.parameters``), the SageMaker pipeline
definition (``ml.pipeline``: names, types and defaults) and ``train.py``'s argument parsing. The module
uses the standard library only and stays compatible with Python 3.8: ``python -m ml pipeline
upload-code`` ships it beside ``train.py`` (as ``ml/parameters.py`` in ``sourcedir.tar.gz``), so the
training container imports it as ``ml.parameters`` exactly as the bot does.

Decisions about who may set what:

* ``ModelApprovalStatus`` is policy: the status a new version is registered with is set by the
  deployment (always ``PendingManualApproval``; an operator may turn on the bot's audited
  auto-approval), never by whoever starts a run, or a trainer could approve their own model.
* ``AccuracyThreshold`` is the quality gate: a run may raise it, never lower it below the operator's
  minimum (``RunPolicy.min_accuracy_threshold``, from ``MLOPS_MIN_ACCURACY_THRESHOLD``).
* ``InputData`` is checked by each platform against the places data may come from (a data directory
  locally, allowed S3 prefixes on SageMaker): the spec only says it is a string.
* Instance types and hyperparameters cost money or time, hence their bounds; they decide nothing else.
* ``TargetColumn`` names a column of the caller's own data.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Union

# A runtime alias: ``X | Y`` would not evaluate on the training container's older Python.
Value = Union[str, int, float]  # noqa: UP007

LOCAL = "local"
SAGEMAKER = "sagemaker"
PLATFORMS: tuple[str, ...] = (LOCAL, SAGEMAKER)

#: The one status the pipeline registers new versions with.
REGISTERED_STATUS = "PendingManualApproval"
APPROVAL_STATUSES: tuple[str, ...] = ("PendingManualApproval", "Approved")
DEFAULT_ACCURACY_THRESHOLD = 0.8


class ParameterError(ValueError):
    """A parameter a caller gave is unknown, not theirs to set, or out of bounds; the message says which."""


@dataclass(frozen=True)
class ParameterSpec:
    """One pipeline parameter or hyperparameter."""

    name: str
    type: str  # "string" | "integer" | "float"
    default: Value
    description: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    hyperparameter: bool = False
    #: platforms whose pipeline declares it
    platforms: tuple[str, ...] = PLATFORMS
    #: regular expression a string value must match, and how to say so
    pattern: str = ""
    pattern_hint: str = ""
    #: non-empty for a parameter set by the deployment, never per run: why
    policy: str = ""

    @property
    def pipeline_type(self) -> str:
        """The SageMaker Pipelines parameter type: String, Integer or Float."""
        return self.type.capitalize()

    def expected(self) -> str:
        """What a valid value looks like, for messages."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.type == "string":
            return self.pattern_hint or "text"
        kind = "an integer" if self.type == "integer" else "a number"
        if self.minimum is not None and self.maximum is not None:
            return f"{kind} between {format_value(self.minimum)} and {format_value(self.maximum)}"
        return kind

    def parse(self, raw: object) -> Value:
        """The typed value of ``raw`` (text or number); ParameterError names the parameter and the rule."""
        if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
            raise ParameterError(f"{self.name} must be {self.expected()}, not a {type(raw).__name__}")
        text = str(raw).strip()
        if self.type == "string":
            return self._parse_text(text, raw)
        try:
            number = float(text)
        except ValueError:
            raise ParameterError(f"{self.name}={raw!r} is not {self.expected()}") from None
        if not math.isfinite(number) or (self.type == "integer" and not number.is_integer()):
            raise ParameterError(f"{self.name}={raw!r} is not {self.expected()}")
        low, high = self.minimum, self.maximum
        if (low is not None and number < low) or (high is not None and number > high):
            raise ParameterError(f"{self.name}={raw!r} is out of range: expected {self.expected()}")
        return int(number) if self.type == "integer" else number

    def _parse_text(self, text: str, raw: object) -> str:
        if not text:
            raise ParameterError(f"{self.name} must not be empty: expected {self.expected()}")
        if self.choices and text not in self.choices:
            close = difflib.get_close_matches(text, list(self.choices), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ParameterError(f"{self.name}={raw!r} is not allowed{hint}: use {self.expected()}")
        if self.pattern and re.fullmatch(self.pattern, text) is None:
            raise ParameterError(f"{self.name}={raw!r} is invalid: expected {self.expected()}")
        return text


def _hyper(name: str, kind: str, default: Value, low: float, high: float, description: str) -> ParameterSpec:
    return ParameterSpec(name, kind, default, description, low, high, hyperparameter=True)


#: Every parameter, in the order the pipeline declares them.
PARAMETERS: Mapping[str, ParameterSpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            ParameterSpec(
                "InputData",
                "string",
                "",
                "labelled training data: a file of the data directory locally, an allowed s3:// URI on "
                "SageMaker (default: the bundled Adult data / the pipeline's default input)",
            ),
            ParameterSpec(
                "TargetColumn",
                "string",
                "income",
                "column holding the label",
                pattern=r"[^\x00-\x1f\x7f]{1,128}",
                pattern_hint="a column name of at most 128 printable characters",
            ),
            ParameterSpec(
                "ProcessingInstanceType",
                "string",
                "ml.m5.xlarge",
                "instance type of the processing steps",
                platforms=(SAGEMAKER,),
                pattern=r"ml\.[a-z0-9]+\.[a-z0-9]+",
                pattern_hint="a SageMaker instance type like ml.m5.xlarge",
            ),
            ParameterSpec(
                "TrainingInstanceType",
                "string",
                "ml.m5.xlarge",
                "instance type of the training job",
                platforms=(SAGEMAKER,),
                pattern=r"ml\.[a-z0-9]+\.[a-z0-9]+",
                pattern_hint="a SageMaker instance type like ml.m5.xlarge",
            ),
            ParameterSpec(
                "AccuracyThreshold",
                "float",
                DEFAULT_ACCURACY_THRESHOLD,
                "minimum test accuracy for the model to be registered (the quality gate)",
                minimum=0.0,
                maximum=1.0,
            ),
            ParameterSpec(
                "ModelApprovalStatus",
                "string",
                REGISTERED_STATUS,
                "approval status a new version is registered with",
                choices=APPROVAL_STATUSES,
                policy="ModelApprovalStatus is set by the deployment, not per run: every new version is "
                "registered PendingManualApproval and needs an approver's decision",
            ),
            _hyper("num_round", "integer", 100, 1, 2000, "boosting rounds (trees)"),
            _hyper("max_depth", "integer", 5, 1, 16, "maximum depth of a tree"),
            _hyper("eta", "float", 0.2, 0.001, 1.0, "learning rate"),
            _hyper("subsample", "float", 0.8, 0.1, 1.0, "fraction of rows sampled per tree"),
            _hyper("colsample_bytree", "float", 0.8, 0.1, 1.0, "fraction of features sampled per tree"),
            _hyper("min_child_weight", "float", 1.0, 0.0, 100.0, "minimum hessian sum in a leaf"),
            _hyper("gamma", "float", 0.0, 0.0, 100.0, "minimum loss reduction to split"),
            _hyper("lambda", "float", 1.0, 0.0, 1000.0, "L2 regularisation"),
            _hyper("alpha", "float", 0.0, 0.0, 1000.0, "L1 regularisation"),
        )
    }
)

HYPERPARAMETERS: Mapping[str, ParameterSpec] = MappingProxyType(
    {n: s for n, s in PARAMETERS.items() if s.hyperparameter}
)


@dataclass(frozen=True)
class RunPolicy:
    """What the deployment decides for every run, whatever its caller asks."""

    #: the lowest quality gate a run may ask for
    min_accuracy_threshold: float = DEFAULT_ACCURACY_THRESHOLD

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_accuracy_threshold <= 1.0:
            raise ValueError(f"min_accuracy_threshold must be within 0-1, not {self.min_accuracy_threshold}")

    @property
    def default_threshold(self) -> float:
        return max(DEFAULT_ACCURACY_THRESHOLD, self.min_accuracy_threshold)

    def check_threshold(self, threshold: float) -> None:
        if threshold < self.min_accuracy_threshold:
            raise ParameterError(
                f"AccuracyThreshold={format_value(threshold)} is below the minimum this deployment sets "
                f"({format_value(self.min_accuracy_threshold)}, MLOPS_MIN_ACCURACY_THRESHOLD): "
                "a run may raise the quality gate, not lower it"
            )


def declared(platform: str) -> dict[str, ParameterSpec]:
    """Every parameter ``platform``'s pipeline declares, policy ones included."""
    return {name: spec for name, spec in PARAMETERS.items() if platform in spec.platforms}


def settable(platform: str) -> dict[str, ParameterSpec]:
    """The parameters a caller may give when starting a run on ``platform``."""
    return {name: spec for name, spec in declared(platform).items() if not spec.policy}


def hyperparameter_defaults() -> dict[str, Value]:
    return {name: spec.default for name, spec in HYPERPARAMETERS.items()}


def check_names(given: Mapping[str, object], platform: str) -> None:
    """Refuse a parameter a caller may not give: policy, another platform's, or unknown."""
    allowed = settable(platform)
    for name in given:
        if name in allowed:
            continue
        spec = PARAMETERS.get(name)
        if spec is not None and spec.policy:
            raise ParameterError(spec.policy + ".")
        if spec is not None:
            raise ParameterError(f"{name} applies to the {', '.join(spec.platforms)} platform only")
        close = closest(name, allowed)
        hint = f" Did you mean {close!r}?" if close else ""
        raise ParameterError(f"Unknown parameter {name!r}.{hint} Valid parameters: {', '.join(allowed)}")


def parse_overrides(given: Mapping[str, object], platform: str, policy: RunPolicy) -> dict[str, Value]:
    """Check a caller's parameters by name, type, bounds and policy; returns the typed values given."""
    check_names(given, platform)
    values = {name: PARAMETERS[name].parse(raw) for name, raw in given.items()}
    if "AccuracyThreshold" in values:
        policy.check_threshold(float(values["AccuracyThreshold"]))
    return values


def closest(name: str, names: Mapping[str, object]) -> str | None:
    by_lower = {known.lower(): known for known in names}
    if name.lower() in by_lower:
        return by_lower[name.lower()]
    matches = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[matches[0]] if matches else None


def format_value(value: Value) -> str:
    """How a value is written in a pipeline parameter: ``5``, ``0.2``, ``1``, text as is."""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def with_default(spec: ParameterSpec, default: Value) -> ParameterSpec:
    return replace(spec, default=default)
