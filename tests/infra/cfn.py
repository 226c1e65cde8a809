"""Reading infra/template.yaml in tests: CloudFormation's YAML tags, parameter substitution, and
the subset of EventBridge pattern matching the template's rules use."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns ``!Ref x`` into ``{"Ref": x}`` and ``!Sub s`` into ``{"Fn::Sub": s}``."""


def _tag(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {"Ref" if suffix == "Ref" else f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _tag)


def load_template() -> dict[str, Any]:
    data = yaml.load(TEMPLATE.read_text(encoding="utf-8"), Loader=_CfnLoader)  # a SafeLoader subclass
    assert isinstance(data, dict)
    return data


def resources(template: Mapping[str, Any], kind: str | None = None) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if kind is None or res["Type"] == kind}


class Resolver:
    """Evaluates the intrinsics a test needs (Ref, Sub, Join, Split) with given parameter values."""

    def __init__(self, template: Mapping[str, Any], account: str, region: str, **overrides: Any) -> None:
        self.values: dict[str, Any] = {
            "AWS::AccountId": account,
            "AWS::Region": region,
            "AWS::Partition": "aws",
        }
        for name, spec in template["Parameters"].items():
            default = spec.get("Default")
            if spec["Type"] == "CommaDelimitedList" and isinstance(default, str):
                default = default.split(",")
            self.values[name] = default
        self.values.update(overrides)

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            return self.values[value["Ref"]]
        if set(value) == {"Fn::Sub"}:
            arg = value["Fn::Sub"]
            text, extra = (
                (arg, {}) if isinstance(arg, str) else (arg[0], {k: self(v) for k, v in arg[1].items()})
            )
            return re.sub(
                r"\$\{([^}]+)\}", lambda m: str(extra.get(m.group(1), self.values[m.group(1)])), text
            )
        if set(value) == {"Fn::Join"}:
            sep, items = value["Fn::Join"]
            return str(sep).join(str(i) for i in self(items))
        return {k: self(v) for k, v in value.items()}


# -- EventBridge pattern matching (the operators the template uses) -----------------------------------


def _scalar_matches(matcher: Any, value: Any) -> bool:
    if not isinstance(matcher, dict):
        return bool(matcher == value)
    if not isinstance(value, str):
        return False
    if "equals-ignore-case" in matcher:
        return value.lower() == str(matcher["equals-ignore-case"]).lower()
    if "prefix" in matcher:
        prefix = matcher["prefix"]
        if isinstance(prefix, dict):
            return value.lower().startswith(str(prefix["equals-ignore-case"]).lower())
        return value.startswith(str(prefix))
    raise AssertionError(f"pattern operator not supported by this test: {matcher}")


def _values(value: Any) -> list[Any]:
    """EventBridge matches an array field if any element matches."""
    return value if isinstance(value, list) else [value]


def matches(pattern: Mapping[str, Any], event: Any) -> bool:
    for key, sub in pattern.items():
        if key == "$or":
            if not any(matches(alternative, event) for alternative in sub):
                return False
            continue
        candidates = [e.get(key) for e in _values(event) if isinstance(e, Mapping) and key in e]
        if not candidates:
            return False
        flat = [v for c in candidates for v in _values(c)]
        if isinstance(sub, Mapping):
            if not any(matches(sub, v) for v in flat if isinstance(v, Mapping)):
                return False
        elif not any(_scalar_matches(m, v) for m in sub for v in flat):
            return False
    return True
