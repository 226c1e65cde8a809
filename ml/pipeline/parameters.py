"""The pipeline's parameters, declared from the one spec (``ml.parameters``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

from ml import parameters as spec

ParameterType = Literal["String", "Integer", "Float"]

#: Type and default of every parameter but InputData (whose default is a build argument), from the
#: one spec (``ml.parameters``).
PARAMETER_DEFAULTS: Final[Mapping[str, tuple[ParameterType, str | int | float]]] = {
    name: (p.pipeline_type, p.default)  # type: ignore[misc]
    for name, p in spec.declared(spec.SAGEMAKER).items()
    if name != "InputData" and not p.hyperparameter
}

#: Hyperparameters, named exactly as ``train.py``'s arguments.
HYPERPARAMETERS: Final[Mapping[str, tuple[ParameterType, int | float]]] = {
    name: (p.pipeline_type, p.default)  # type: ignore[misc]
    for name, p in spec.HYPERPARAMETERS.items()
}


def declare_parameters(default_input_data: str) -> dict[str, Any]:
    """The SDK's parameter objects, by name, in the spec's order (imports the SDK)."""
    from sagemaker.core.workflow.parameters import ParameterFloat, ParameterInteger, ParameterString

    def declare(p: spec.ParameterSpec) -> Any:
        default = default_input_data if p.name == "InputData" else p.default
        if p.type == "integer":
            return ParameterInteger(p.name, default_value=int(default))
        if p.type == "float":
            return ParameterFloat(p.name, default_value=float(default))
        return ParameterString(p.name, default_value=str(default), enum_values=list(p.choices) or None)

    return {name: declare(p) for name, p in spec.declared(spec.SAGEMAKER).items()}
