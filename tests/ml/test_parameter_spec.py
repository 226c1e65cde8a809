"""The one parameter spec, probed at every bound through every consumer.

Consumers: the local and SageMaker validators, the SageMaker pipeline definition (its parameters'
types, defaults and enum values) and ``train.py``'s argument parsing, also as uploaded by
``upload-code`` and run on its own.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from ml import parameters as spec
from ml import pipeline, pipeline_cli
from ml.local import parameters as local
from ml.platform import InvalidRequest
from ml.sagemaker.parameters import validate_parameters
from ml.steps import train

NO_FLOOR = spec.RunPolicy(min_accuracy_threshold=0.0)
NUMERIC = [p for p in spec.PARAMETERS.values() if p.type in ("integer", "float")]
ENUMS = [p for p in spec.PARAMETERS.values() if p.choices]


def _probes(p: spec.ParameterSpec) -> list[tuple[str, bool]]:
    """(value, accepted) at each bound, and one unit (±1) and one step (an integer's 1, a float's
    1e-6) beyond it."""
    assert p.minimum is not None and p.maximum is not None
    step = 1.0 if p.type == "integer" else 1e-6
    out: list[tuple[float, bool]] = [(p.minimum, True), (p.maximum, True)]
    for delta in {1.0, step}:
        out += [(p.minimum - delta, False), (p.maximum + delta, False)]
        if p.maximum - p.minimum >= 2 * delta:
            out += [(p.minimum + delta, True), (p.maximum - delta, True)]
    return [(spec.format_value(int(v) if p.type == "integer" else v), ok) for v, ok in out]


CASES = [(p.name, value, ok) for p in NUMERIC for value, ok in _probes(p)]


@pytest.mark.parametrize(("name", "value", "accepted"), CASES)
def test_each_bound_through_the_local_validator(
    tmp_path: Path, name: str, value: str, accepted: bool
) -> None:
    if accepted:
        run = local.resolve_run({name: value}, policy=NO_FLOOR, data_dir=tmp_path)
        assert run.recorded[name] == value
    else:
        with pytest.raises(InvalidRequest, match=f"{name}='{value}' is out of range"):
            local.resolve_run({name: value}, policy=NO_FLOOR, data_dir=tmp_path)


@pytest.mark.parametrize(("name", "value", "accepted"), CASES)
def test_each_bound_through_the_sagemaker_validator(name: str, value: str, accepted: bool) -> None:
    if accepted:
        assert validate_parameters({name: value}, policy=NO_FLOOR)[name] == value
    else:
        with pytest.raises(InvalidRequest, match=f"{name}='{value}' is out of range"):
            validate_parameters({name: value}, policy=NO_FLOOR)


@pytest.mark.parametrize(
    ("name", "value", "accepted"), [c for c in CASES if spec.PARAMETERS[c[0]].hyperparameter]
)
def test_each_bound_through_train_argparse(name: str, value: str, accepted: bool) -> None:
    argv = [f"--{name}", value]
    if accepted:
        _, hyperparameters = train.parse_arguments(argv)
        assert spec.format_value(hyperparameters[name]) == value
    else:
        with pytest.raises(ValueError, match=f"{name}='{value}' is out of range"):
            train.parse_arguments(argv)


def test_train_argparse_takes_every_hyperparameter_and_nothing_else() -> None:
    options = {
        a.dest for a in train.build_parser()._actions if a.option_strings and a.dest in spec.PARAMETERS
    }
    assert options == set(spec.HYPERPARAMETERS)
    with pytest.raises(ValueError, match="unrecognized arguments: --AccuracyThreshold"):
        train.parse_arguments(["--AccuracyThreshold", "0.5"])


@pytest.mark.parametrize("p", ENUMS, ids=lambda p: p.name)
def test_each_enum_outside_its_choices(tmp_path: Path, p: spec.ParameterSpec) -> None:
    with pytest.raises(spec.ParameterError, match=f"{p.name}='Rejected' is not allowed"):
        p.parse("Rejected")
    assert all(p.parse(choice) == choice for choice in p.choices)
    # Every enum today is policy: neither platform lets a caller give it, whatever the value.
    for value in (*p.choices, "Rejected"):
        with pytest.raises(InvalidRequest, match="set by the deployment, not per run"):
            validate_parameters({p.name: value})
        with pytest.raises(InvalidRequest, match="set by the deployment, not per run"):
            local.resolve_run({p.name: value}, policy=NO_FLOOR, data_dir=tmp_path)


@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    text = pipeline.definition(
        pipeline_name="spec-probe",
        role_arn="arn:aws:iam::111122223333:role/exec",
        region="eu-west-1",
        code_s3_prefix="s3://code-bucket/code/",
        model_package_group="spec-probe",
        default_input_data="s3://data-bucket/training/",
    )
    return dict(json.loads(text))


def test_the_definition_declares_the_spec(definition: dict[str, Any]) -> None:
    declared = {p["Name"]: p for p in definition["Parameters"]}
    assert list(declared) == list(spec.declared(spec.SAGEMAKER))
    for name, p in spec.declared(spec.SAGEMAKER).items():
        assert declared[name]["Type"] == p.pipeline_type, name
        default = "s3://data-bucket/training/" if name == "InputData" else p.default
        assert declared[name]["DefaultValue"] == default, name
        assert tuple(declared[name].get("EnumValues", ())) == p.choices, name
    # Each numeric default lies inside the bounds the validators enforce.
    for p in NUMERIC:
        assert p.minimum is not None and p.maximum is not None
        assert p.minimum <= float(declared[p.name]["DefaultValue"]) <= p.maximum, p.name


def test_every_hyperparameter_reaches_the_training_job(definition: dict[str, Any]) -> None:
    step = next(s for s in definition["Steps"] if s["Name"] == pipeline.STEP_TRAIN)
    sent = step["Arguments"]["HyperParameters"]
    assert {n for n in sent if not n.startswith("sagemaker_")} == set(spec.HYPERPARAMETERS)


@pytest.fixture(scope="module")
def uploaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``sourcedir.tar.gz`` as ``upload-code`` builds it from the real steps, unpacked."""
    blob = pipeline_cli.source_archive(pipeline_cli.STEPS_DIR / pipeline.TRAIN_SCRIPT)
    target = tmp_path_factory.mktemp("code")
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as archive:
        assert sorted(archive.getnames()) == ["ml/__init__.py", "ml/parameters.py", "train.py"]
        archive.extractall(target, filter="data")
    return target


def _container(code: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    # -S -E: no site-packages, no PYTHONPATH: only the archive can provide ``ml.parameters``, as in
    # the training container, which runs the script from its own directory.
    return subprocess.run(
        [sys.executable, "-S", "-E", "train.py", *argv],
        cwd=code,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_uploaded_script_imports_the_spec_it_was_shipped_with(uploaded: Path) -> None:
    shown = _container(uploaded, "--help")
    assert shown.returncode == 0, shown.stderr
    for name in spec.HYPERPARAMETERS:
        assert f"--{name}" in shown.stdout
    for name, value, accepted in CASES:
        if name in spec.HYPERPARAMETERS and not accepted:
            refused = _container(uploaded, f"--{name}", value)
            assert refused.returncode == 1
            assert f"{name}='{value}' is out of range" in refused.stderr
