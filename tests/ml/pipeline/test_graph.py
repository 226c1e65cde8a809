"""The PreprocessData step gets the ``ml`` modules upload-code ships, mounted where ``--deps`` points."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ml import pipeline
from tests.ml.test_pipeline_definition import ARGS


@pytest.fixture(scope="module")
def text() -> str:
    return pipeline.definition(**ARGS)


def _preprocess(text: str) -> dict[str, Any]:
    (step,) = [s for s in json.loads(text)["Steps"] if s["Name"] == pipeline.STEP_PREPROCESS]
    arguments: dict[str, Any] = step["Arguments"]
    return arguments


def test_preprocess_mounts_the_deps_prefix_and_names_it_with_deps(text: str) -> None:
    arguments = _preprocess(text)
    inputs = {i["InputName"]: i["S3Input"] for i in arguments["ProcessingInputs"]}
    assert inputs["deps"] == {
        "S3Uri": "s3://code-bucket/pipelines/code/deps/",
        "LocalPath": "/opt/ml/processing/deps",
        "S3DataType": "S3Prefix",
        "S3InputMode": "File",
        "S3DataDistributionType": "FullyReplicated",
        "S3CompressionType": "None",
    }
    assert inputs["deps"]["S3Uri"] == pipeline.deps_prefix(ARGS["code_s3_prefix"])
    # every dependency upload-code puts in S3 lies under the mounted prefix
    for name, uri in pipeline.code_files(ARGS["code_s3_prefix"]).items():
        assert uri.startswith(inputs["deps"]["S3Uri"]) == name.startswith("deps/"), name
    assert arguments["AppSpecification"]["ContainerArguments"] == [
        "--target",
        {"Get": "Parameters.TargetColumn"},
        "--deps",
        "/opt/ml/processing/deps",
    ]
    # no other step's local path overlaps the mount
    paths = [i["S3Input"]["LocalPath"] for i in arguments["ProcessingInputs"]]
    paths += [o["S3Output"]["LocalPath"] for o in arguments["ProcessingOutputConfig"]["Outputs"]]
    assert [p for p in paths if p.startswith(pipeline.DEPS_LOCAL_PATH)] == [pipeline.DEPS_LOCAL_PATH]


def test_the_definition_is_the_same_for_the_same_arguments(text: str) -> None:
    assert pipeline.definition(**ARGS) == text
