"""``mlops/DriftPSI`` through PutMetricData (moto): the datapoints are in CloudWatch afterwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from ml.drift.check import DriftReport, FeatureDrift
from ml.drift.environment import EnvironmentDrift
from ml.drift.metrics import metric_data
from ml.sagemaker import SageMakerPlatform
from ml.sagemaker.errors import AccessDenied
from ml.sagemaker.metrics import BATCH, put_metric_data


def feature(name: str, psi: float) -> FeatureDrift:
    return FeatureDrift(name, "numeric", psi, "ok", 0.0, 0.0, 0.0, (), 10)


def found(names: list[str]) -> EnvironmentDrift:
    features = [feature(name, 0.01 * (i + 1)) for i, name in enumerate(names)]
    report = DriftReport(features, feature("score", 0.3), rows=10, skipped=0, window=None, status="drift")
    return EnvironmentDrift("production", 2, report)


def datapoint(cloudwatch: Any, feature_name: str, at: datetime) -> list[float]:
    answer = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "psi",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "mlops",
                        "MetricName": "DriftPSI",
                        "Dimensions": [
                            {"Name": "Environment", "Value": "production"},
                            {"Name": "Feature", "Value": feature_name},
                        ],
                    },
                    "Period": 60,
                    "Stat": "Maximum",
                },
            }
        ],
        StartTime=at - timedelta(minutes=5),
        EndTime=at + timedelta(minutes=5),
    )
    return list(answer["MetricDataResults"][0]["Values"])


def test_platform_publishes_each_feature_and_the_score(platform: SageMakerPlatform, session: Any) -> None:
    at = datetime.now(UTC).replace(microsecond=0)
    platform.publish_drift(found(["age", "hours-per-week"]), at)
    cloudwatch = session.client("cloudwatch")
    listed = cloudwatch.list_metrics(Namespace="mlops", MetricName="DriftPSI")["Metrics"]
    assert sorted(d["Value"] for m in listed for d in m["Dimensions"] if d["Name"] == "Feature") == [
        "age",
        "hours-per-week",
        "score",
    ]
    assert datapoint(cloudwatch, "age", at) == [0.01]
    assert datapoint(cloudwatch, "score", at) == [0.3]


def test_many_features_go_in_batches(session: Any) -> None:
    at = datetime.now(UTC).replace(microsecond=0)
    data = metric_data(found([f"f{i}" for i in range(44)]), at)  # and the score: 45 datums
    cloudwatch = session.client("cloudwatch")
    assert put_metric_data(cloudwatch, data) == 3 == -(-len(data) // BATCH)
    listed = cloudwatch.get_paginator("list_metrics").paginate(Namespace="mlops")
    assert sum(len(page["Metrics"]) for page in listed) == 45
    assert datapoint(cloudwatch, "f43", at) == [0.44]


def test_a_refusal_becomes_a_platform_error(aws: None) -> None:
    class Refusing:
        def put_metric_data(self, **_: Any) -> None:
            error = {"Error": {"Code": "AccessDenied", "Message": "not allowed"}}
            raise boto3.client("cloudwatch").exceptions.ClientError(error, "PutMetricData")

    with pytest.raises(AccessDenied, match="mlops"):
        put_metric_data(Refusing(), metric_data(found(["age"]), datetime.now(UTC)))
