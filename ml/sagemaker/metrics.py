"""The drift check's PSI into CloudWatch through PutMetricData (the container on the sagemaker backend).

Lambda writes the same metrics as embedded-metric-format log lines instead (``runtimes.drift_publish``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ml.drift.metrics import NAMESPACE, metric_data
from ml.sagemaker.errors import aws_errors

if TYPE_CHECKING:
    from ml.drift.environment import EnvironmentDrift

#: datums per PutMetricData request: CloudWatch's long-standing floor (it now takes up to 1,000)
BATCH = 20


def put_metric_data(cloudwatch: Any, data: Sequence[dict[str, Any]], namespace: str = NAMESPACE) -> int:
    """Send ``data`` in batches of ``BATCH``; the number of requests. A failure raises ``PlatformError``."""
    requests = 0
    with aws_errors(f"CloudWatch metrics in namespace {namespace}"):
        for start in range(0, len(data), BATCH):
            cloudwatch.put_metric_data(Namespace=namespace, MetricData=list(data[start : start + BATCH]))
            requests += 1
    return requests


def put_drift_metrics(cloudwatch: Any, found: EnvironmentDrift, at: datetime) -> int:
    """``mlops/DriftPSI`` of one environment's check, stamped ``at``; the number of requests."""
    return put_metric_data(cloudwatch, metric_data(found, at))
