""" "SageMaker Endpoint Deployment State Change" events, as SageMaker sends them during a blue/green update.

The detail is ``DescribeEndpoint``'s: the variants serving now (``ProductionVariants``, with current and
desired weights) and the update in flight (``PendingDeploymentSummary``), whose variant carries the stage
it is in (``VariantStatus``: ``Creating``, ``ActivatingTraffic``, ``Baking``, ``Deleting``, the values
of SageMaker's ``ProductionVariantStatus``) with a message and its start time. Status is upper snake case
and times are epoch milliseconds, as in the endpoint state events (``events``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from ml.platform import DT_ENDPOINT_DEPLOYMENT, EndpointStatus, PlatformEvent

from .events import endpoint_detail, envelope, epoch_ms

Stage = Literal["Creating", "Updating", "Deleting", "ActivatingTraffic", "Baking"]


def variant(
    name: str, current_percent: int, desired_percent: int, stages: Sequence[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """One variant as the event lists it (weights as fractions, one instance: the endpoint host)."""
    out: dict[str, Any] = {
        "VariantName": name,
        "CurrentWeight": current_percent / 100,
        "DesiredWeight": desired_percent / 100,
        "CurrentInstanceCount": 1,
        "DesiredInstanceCount": 1,
    }
    if stages:
        out["VariantStatus"] = [dict(s) for s in stages]
    return out


def stage(status: Stage, message: str, started_at: datetime) -> dict[str, Any]:
    return {"Status": status, "StatusMessage": message[:1024], "StartTime": epoch_ms(started_at)}


def deployment_event(
    *,
    endpoint_name: str,
    config_name: str,
    status: EndpointStatus,
    created_at: datetime,
    modified_at: datetime,
    variants: Sequence[Mapping[str, Any]],
    pending_config: str | None = None,
    pending_started_at: datetime | None = None,
    pending_variants: Sequence[Mapping[str, Any]] = (),
    failure_reason: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> PlatformEvent:
    detail = endpoint_detail(
        endpoint_name=endpoint_name,
        config_name=config_name,
        status=status,
        created_at=created_at,
        modified_at=modified_at,
        variants=variants,
        failure_reason=failure_reason,
        tags=tags,
    )
    if pending_config is not None:
        detail["PendingDeploymentSummary"] = {
            "EndpointConfigName": pending_config,
            "StartTime": epoch_ms(pending_started_at or modified_at),
            "ProductionVariants": [dict(v) for v in pending_variants],
        }
    return envelope(DT_ENDPOINT_DEPLOYMENT, [detail["EndpointArn"]], detail, modified_at)
