"""``mlops/DriftPSI`` data: PutMetricData datums and embedded-metric-format documents that follow the spec."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest

from ml.drift.check import DriftReport, FeatureDrift
from ml.drift.environment import EnvironmentDrift
from ml.drift.metrics import (
    MAX_METRICS_PER_DOCUMENT,
    emf_documents,
    metric_data,
    psi_values,
)

AT = datetime(2026, 12, 7, 18, 0, 0, 123000, tzinfo=UTC)

#: The document structure of CloudWatch's embedded metric format specification ("Specification:
#: Embedded metric format", Amazon CloudWatch User Guide): the ``_aws`` metadata with a millisecond
#: Timestamp and MetricDirectives (Namespace; DimensionSets of at most 9 keys; at most 100 metric
#: definitions, each a Name and an optional CloudWatch unit).
EMF_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["_aws"],
    "properties": {
        "_aws": {
            "type": "object",
            "required": ["Timestamp", "CloudWatchMetrics"],
            "properties": {
                "Timestamp": {"type": "integer"},
                "CloudWatchMetrics": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["Namespace", "Dimensions", "Metrics"],
                        "properties": {
                            "Namespace": {"type": "string", "minLength": 1, "maxLength": 255},
                            "Dimensions": {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    "type": "array",
                                    "maxItems": 9,
                                    "items": {"type": "string", "minLength": 1, "maxLength": 255},
                                },
                            },
                            "Metrics": {
                                "type": "array",
                                "maxItems": MAX_METRICS_PER_DOCUMENT,
                                "items": {
                                    "type": "object",
                                    "required": ["Name"],
                                    "properties": {
                                        "Name": {"type": "string", "minLength": 1, "maxLength": 255},
                                        "Unit": {"enum": ["None", "Count", "Percent", "Seconds"]},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}


def feature(name: str, psi: float, kind: str = "numeric") -> FeatureDrift:
    return FeatureDrift(name, kind, psi, "ok", 0.0, 0.0, 0.0, (), 100)  # type: ignore[arg-type]


def drift(features: list[FeatureDrift], score: FeatureDrift | None) -> EnvironmentDrift:
    report = DriftReport(features, score, rows=100, skipped=0, window=None, status="drift")
    return EnvironmentDrift("production", 3, report, {"capture": "churn-production"})


def assert_follows_the_spec(document: dict[str, Any]) -> None:
    """The schema, and what it cannot say: every reference is a root member of the right type."""
    jsonschema.validate(document, EMF_SCHEMA)
    for directive in document["_aws"]["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            assert all(isinstance(document[key], str) for key in dimension_set)
        for metric in directive["Metrics"]:
            value = document[metric["Name"]]
            assert isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def test_one_value_per_feature_and_for_the_score() -> None:
    found = drift([feature("age", 0.61), feature("workclass", 0.02, "categorical")], feature("score", 0.3))
    assert list(psi_values(found)) == [("age", 0.61), ("workclass", 0.02), ("score", 0.3)]
    assert list(psi_values(drift([feature("age", 0.61)], None))) == [("age", 0.61)]


def test_values_cloudwatch_would_refuse_are_left_out() -> None:
    found = drift([feature("age", math.nan), feature("sex", math.inf), feature("race", 0.01)], None)
    assert list(psi_values(found)) == [("race", 0.01)]


def test_metric_data_is_put_metric_data_shaped() -> None:
    found = drift([feature("age", 0.61)], feature("score", 0.3))
    assert metric_data(found, AT) == [
        {
            "MetricName": "DriftPSI",
            "Dimensions": [
                {"Name": "Environment", "Value": "production"},
                {"Name": "Feature", "Value": name},
            ],
            "Timestamp": AT,
            "Value": value,
            "Unit": "None",
        }
        for name, value in (("age", 0.61), ("score", 0.3))
    ]


def test_emf_documents_follow_the_specification() -> None:
    found = drift([feature("age", 0.61), feature("hours-per-week", 0.4)], feature("score", 0.3))
    documents = [json.loads(json.dumps(d)) for d in emf_documents(found, AT)]  # as a log line carries it
    assert len(documents) == 3
    for document in documents:
        assert_follows_the_spec(document)
        assert document["_aws"]["Timestamp"] == 1796666400123  # milliseconds since the epoch
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "mlops"
        assert directive["Dimensions"] == [["Environment", "Feature"]]
        assert directive["Metrics"] == [{"Name": "DriftPSI", "Unit": "None"}]
        assert document["Environment"] == "production" and document["Version"] == 3
    assert {(d["Feature"], d["DriftPSI"]) for d in documents} == {
        ("age", 0.61),
        ("hours-per-week", 0.4),
        ("score", 0.3),
    }


def test_many_features_stay_within_the_per_document_limit() -> None:
    found = drift([feature(f"f{i}", i / 1000) for i in range(250)], feature("score", 0.1))
    documents = emf_documents(found, AT)
    assert len(documents) == 251  # every value is published
    for document in documents:
        assert_follows_the_spec(document)
        assert len(document["_aws"]["CloudWatchMetrics"][0]["Metrics"]) <= MAX_METRICS_PER_DOCUMENT


def test_the_spec_check_catches_a_broken_document() -> None:
    (document,) = emf_documents(drift([feature("age", 0.61)], None), AT)
    del document["Feature"]  # a dimension without its root member
    with pytest.raises(KeyError):
        assert_follows_the_spec(document)
    over = json.loads(json.dumps(emf_documents(drift([feature("age", 0.61)], None), AT)[0]))
    over["_aws"]["CloudWatchMetrics"][0]["Metrics"] *= MAX_METRICS_PER_DOCUMENT + 1
    with pytest.raises(jsonschema.ValidationError, match="too long"):
        jsonschema.validate(over, EMF_SCHEMA)
