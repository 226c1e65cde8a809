"""Where the scheduled drift check's PSI goes (``mlops/DriftPSI``): the one hook of ``DriftWatch``.

* On Lambda: embedded-metric-format lines on stdout, which CloudWatch Logs turns into metrics.
* In the container on the sagemaker backend: PutMetricData.
* On the local platform: nowhere.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TextIO

from bot.notify import Notifier
from bot.services import Services
from handlers.drift_watch import DriftWatch, start_drift_watch
from ml.drift.environment import EnvironmentDrift
from ml.drift.metrics import emf_documents
from ml.platform import MLPlatform, PlatformError
from ml.sagemaker import SageMakerPlatform

log = logging.getLogger(__name__)

Publish = Callable[[EnvironmentDrift], None]
Now = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def emf_publisher(out: TextIO | None = None, now: Now = _utc_now) -> Publish:
    """Writes each check's documents, one JSON line each, to ``out`` (default: stdout at call time)."""

    def publish(found: EnvironmentDrift) -> None:
        stream = out if out is not None else sys.stdout
        for document in emf_documents(found, now()):
            stream.write(json.dumps(document, separators=(",", ":")) + "\n")
        stream.flush()

    return publish


def cloudwatch_publisher(platform: SageMakerPlatform, now: Now = _utc_now) -> Publish:
    """PutMetricData through the platform; a refusal is logged, so the drift card still goes out."""

    def publish(found: EnvironmentDrift) -> None:
        try:
            platform.publish_drift(found, now())
        except PlatformError as exc:
            log.warning("drift metrics of %s not published: %s", found.environment, exc)

    return publish


def drift_publisher(platform: MLPlatform, now: Now = _utc_now) -> Publish | None:
    """The container's publisher: CloudWatch on the sagemaker backend, none on the local platform."""
    return cloudwatch_publisher(platform, now) if isinstance(platform, SageMakerPlatform) else None


def start_scheduled_check(services: Services, notifier: Notifier | None) -> DriftWatch | None:
    """``MLOPS_DRIFT_SCHEDULE``'s timer, publishing its PSI where the platform keeps metrics; None when
    off or mute."""
    return start_drift_watch(services, notifier, drift_publisher(services.platform))
