"""The drift check's PSI as CloudWatch metric data: ``mlops/DriftPSI`` per environment and feature.

One value per raw feature and one for the model's score (Feature ``score``), dimensions Environment
and Feature. Two shapes of the same numbers: ``metric_data`` for PutMetricData (``MetricDatum``
objects) and ``emf_documents`` for CloudWatch's embedded metric format, JSON log lines that CloudWatch
Logs turns into the same metrics (Lambda writes them to stdout). Standard library only.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ml.drift.environment import EnvironmentDrift

__all__ = [
    "DIMENSIONS",
    "MAX_METRICS_PER_DOCUMENT",
    "METRIC",
    "NAMESPACE",
    "SCORE_FEATURE",
    "emf_documents",
    "metric_data",
    "psi_values",
]

NAMESPACE = "mlops"
METRIC = "DriftPSI"
#: the Feature dimension's value for the PSI of the model's scores
SCORE_FEATURE = "score"
DIMENSIONS = ("Environment", "Feature")
#: the embedded metric format's limit of metric definitions in one directive
MAX_METRICS_PER_DOCUMENT = 100
#: CloudWatch's limit on a dimension value
_MAX_DIMENSION_VALUE = 1024


def psi_values(found: EnvironmentDrift) -> Iterator[tuple[str, float]]:
    """(feature, PSI) for each feature, then ``score`` when the baseline has scores; non-finite values
    (which CloudWatch refuses) are left out."""
    features = [(f.name, f.psi) for f in found.report.features]
    if found.report.score is not None:
        features.append((SCORE_FEATURE, found.report.score.psi))
    for name, value in features:
        if math.isfinite(value) and 0 < len(name) <= _MAX_DIMENSION_VALUE:
            yield name, float(value)


def metric_data(found: EnvironmentDrift, at: datetime) -> list[dict[str, Any]]:
    """``MetricData`` of a PutMetricData request for ``mlops``: one datum per value of ``psi_values``."""
    return [
        {
            "MetricName": METRIC,
            "Dimensions": [
                {"Name": "Environment", "Value": found.environment},
                {"Name": "Feature", "Value": feature},
            ],
            "Timestamp": at,
            "Value": value,
            "Unit": "None",
        }
        for feature, value in psi_values(found)
    ]


def emf_documents(found: EnvironmentDrift, at: datetime) -> list[dict[str, Any]]:
    """One embedded-metric-format document per value of ``psi_values``.

    A document's dimension values are members of its root, so each holds one Feature and one metric:
    far inside the limit of 100 metric definitions per directive. ``Version`` rides along as a plain
    member (searchable in the logs, not a dimension).
    """
    timestamp = int(at.timestamp() * 1000)
    return [
        {
            "_aws": {
                "Timestamp": timestamp,
                "CloudWatchMetrics": [
                    {
                        "Namespace": NAMESPACE,
                        "Dimensions": [list(DIMENSIONS)],
                        "Metrics": [{"Name": METRIC, "Unit": "None"}],
                    }
                ],
            },
            "Environment": found.environment,
            "Feature": feature,
            METRIC: value,
            "Version": found.version,
        }
        for feature, value in psi_values(found)
    ]
