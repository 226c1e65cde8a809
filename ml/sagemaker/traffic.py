"""How traffic moves on a SageMaker endpoint: the rollout policy as ``DeploymentConfig``, and the
variants of an endpoint (the serving one, and the warm standby kept at weight 0).

The serving variant keeps one name across updates (``AllTraffic``): a blue/green update needs the new
config to share the old config's variant name, and autoscaling registers the variant by that name. The
warm variant's name says which version it holds and until when: ``warm-v3-20261201103000``. Which
version a variant holds is also in its model's name (``<endpoint>-v<version>-<stamp>``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ml.platform import Environment
from ml.rollout_policy import RolloutPolicy
from ml.sagemaker import naming
from ml.sagemaker.clients import AwsClients

SERVING_VARIANT = "AllTraffic"
_WARM = re.compile(r"warm-v(\d+)-(\d{14})")
_STAMP = "%Y%m%d%H%M%S"


def deployment_config(policy: RolloutPolicy, alarms: Sequence[str]) -> dict[str, Any]:
    """The ``DeploymentConfig`` of an ``UpdateEndpoint`` that follows ``policy``, guarded by ``alarms``."""
    routing: dict[str, Any] = {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": policy.wait_seconds}
    if policy.kind == "canary":
        routing = {
            "Type": "CANARY",
            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": policy.percent},
            "WaitIntervalInSeconds": policy.wait_seconds,
        }
    elif policy.kind == "linear":
        routing = {
            "Type": "LINEAR",
            "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": policy.percent},
            "WaitIntervalInSeconds": policy.wait_seconds,
        }
    config: dict[str, Any] = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": routing,
            "TerminationWaitInSeconds": policy.bake_seconds,
            "MaximumExecutionTimeoutInSeconds": policy.timeout_seconds,
        }
    }
    if alarms:
        config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": name} for name in alarms]}
    return config


def policy_of(config: Mapping[str, Any] | None) -> RolloutPolicy | None:
    """The policy a ``DeploymentConfig`` (e.g. DescribeEndpoint's ``LastDeploymentConfig``) follows."""
    blue_green = (config or {}).get("BlueGreenUpdatePolicy")
    if not isinstance(blue_green, Mapping):
        return None
    routing = blue_green.get("TrafficRoutingConfiguration") or {}
    kinds = {"ALL_AT_ONCE": "all-at-once", "CANARY": "canary", "LINEAR": "linear"}
    kind = kinds.get(str(routing.get("Type")))
    if kind is None:
        return None
    size = routing.get("CanarySize") or routing.get("LinearStepSize") or {}
    try:
        return RolloutPolicy(
            kind,  # type: ignore[arg-type]
            int(size.get("Value", 100)) if kind != "all-at-once" else 100,
            int(routing.get("WaitIntervalInSeconds", 0)) if kind != "all-at-once" else 0,
            int(blue_green.get("TerminationWaitInSeconds", 0)),
            int(blue_green.get("MaximumExecutionTimeoutInSeconds", 3600)),
        )
    except ValueError:
        return None  # a capacity given in instances, which the bot never sends


def warm_variant_name(version: int, until: datetime) -> str:
    return f"warm-v{version}-{until.astimezone(UTC).strftime(_STAMP)}"


def parse_warm_variant(name: str) -> tuple[int, datetime] | None:
    """(version, kept until) of a warm variant's name, else None."""
    match = _WARM.fullmatch(name)
    if match is None:
        return None
    return int(match.group(1)), datetime.strptime(match.group(2), _STAMP).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Variant:
    """One production variant of a running endpoint, as DescribeEndpoint reports it."""

    name: str
    version: int | None
    weight: float
    instance_count: int
    #: for the warm variant: when it is retired
    until: datetime | None = None

    @property
    def warm(self) -> bool:
        return self.until is not None


def variants(description: Mapping[str, Any]) -> tuple[Variant, ...]:
    """The endpoint's variants; the serving variant's version is the config's (named after it)."""
    endpoint = str(description.get("EndpointName", ""))
    parsed = naming.parse_config_name(endpoint, str(description.get("EndpointConfigName", "")))
    found: list[Variant] = []
    for raw in description.get("ProductionVariants") or []:
        name = str(raw.get("VariantName", ""))
        weight = float(raw.get("CurrentWeight") or 0.0)
        count = int(raw.get("CurrentInstanceCount") or raw.get("DesiredInstanceCount") or 0)
        warm = parse_warm_variant(name)
        if warm is not None:
            found.append(Variant(name, warm[0], weight, count, warm[1]))
        else:
            found.append(Variant(name, parsed[0] if parsed else None, weight, count))
    return tuple(found)


def serving(description: Mapping[str, Any]) -> Variant | None:
    """The variant taking the traffic: the heaviest (the warm one after an instant rollback)."""
    present = variants(description)
    if not present:
        return None
    return max(present, key=lambda v: (v.weight, not v.warm))


def serving_version(description: Mapping[str, Any]) -> int | None:
    variant = serving(description)
    if variant is not None and variant.weight > 0:
        return variant.version
    parsed = naming.parse_config_name(
        str(description.get("EndpointName", "")), str(description.get("EndpointConfigName", ""))
    )
    return parsed[0] if parsed else None


def standby(description: Mapping[str, Any]) -> Variant | None:
    """The variant kept at weight 0 that traffic can shift to at once, if any."""
    live = serving(description)
    for variant in variants(description):
        if variant is not live and variant.weight == 0 and variant.instance_count > 0:
            return variant
    return None


def warm_until(description: Mapping[str, Any]) -> datetime | None:
    """When the endpoint's warm standby is retired (also the window of the variant at 0 after a shift)."""
    for variant in variants(description):
        if variant.until is not None:
            return variant.until
    return None


def update_endpoint(
    aws: AwsClients, env: Environment, endpoint: str, config_name: str, policy: RolloutPolicy
) -> None:
    """A blue/green ``UpdateEndpoint`` following ``policy``, guarded by the rollback alarms."""
    request: dict[str, Any] = {
        "EndpointName": endpoint,
        "EndpointConfigName": config_name,
        "DeploymentConfig": deployment_config(policy, aws.config.rollback_alarm_names),
    }
    if env == "production" and aws.config.autoscaling_enabled:
        # Keep the fleet size autoscaling reached, but never a weight: after an instant rollback the
        # serving variant's weight is 0, and the new version must take the traffic.
        request["RetainAllVariantProperties"] = True
        request["ExcludeRetainedVariantProperties"] = [{"VariantPropertyType": "DesiredWeight"}]
    else:
        request["RetainAllVariantProperties"] = False
    aws.sagemaker.update_endpoint(**request)
