"""The replaced production model kept warm at weight 0 after a promote, so a rollback is a weight shift.

A promote's endpoint config carries the previous production model as a second variant
(``InitialVariantWeight`` 0, the production instance count), named after its version and the end of
its retention (``traffic.warm_variant_name``; the config's ``mlops:warm-until`` tag says the same). A
rollback to it within the window is one ``UpdateEndpointWeightsAndCapacities`` and a wait; after the
window ``retire`` replaces the config with a single-variant one of the serving version.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ml.clock import Clock
from ml.durations import describe_duration
from ml.platform import EndpointInfo, Environment, InvalidRequest, NotFound
from ml.rollout_policy import RolloutPolicy
from ml.rollout_state import RollbackPath, WarmStandby
from ml.sagemaker import naming, traffic
from ml.sagemaker.capture import data_capture_config
from ml.sagemaker.clients import AwsClients, check_environment
from ml.sagemaker.endpoints import BUSY_ENDPOINT, Endpoints, WaitInService, WaitTimedOut
from ml.sagemaker.errors import DeploymentFailed, aws_errors
from ml.sagemaker.production import Production

#: how the standby is retired: at once, no bake (nothing new takes traffic)
RETIRE_POLICY = RolloutPolicy("all-at-once", bake_seconds=0)


@dataclass(frozen=True)
class WarmVariant:
    """The second variant of a promote's endpoint config."""

    name: str
    version: int
    until: datetime
    request: dict[str, Any]


class WarmStandbys:
    """Warm standbys of the production endpoint: keep, shift to, describe and retire them."""

    def __init__(
        self,
        aws: AwsClients,
        clock: Clock,
        endpoints: Endpoints,
        production: Production,
        wait_in_service: WaitInService,
    ) -> None:
        self._aws = aws
        self._clock = clock
        self._endpoints = endpoints
        self._production = production
        self._wait_in_service = wait_in_service
        self.config = aws.config

    @property
    def window(self) -> timedelta | None:
        seconds = self.config.warm_rollback_seconds
        return None if seconds is None else timedelta(seconds=seconds)

    def variant_for(
        self, env: Environment, current: Mapping[str, Any] | None, shifted_at: datetime
    ) -> WarmVariant | None:
        """The variant that keeps production's serving model warm, for a promote whose traffic will have
        shifted by ``shifted_at``; None on staging, on a first deploy, or with warm rollback off."""
        window = self.window
        if env != "production" or window is None or current is None:
            return None
        live = traffic.serving(current)
        if live is None or live.version is None:
            return None
        model = self._model_of(current, live.name)
        until = (shifted_at + window).replace(microsecond=0)  # as the variant name keeps it
        name = traffic.warm_variant_name(live.version, until)
        request = {
            "VariantName": name,
            "ModelName": model,
            "InstanceType": self.config.instance_types[env],
            "InitialInstanceCount": live.instance_count or self.config.instance_counts[env],
            "InitialVariantWeight": 0.0,
        }
        return WarmVariant(name, live.version, until, request)

    def shift_target(self, current: Mapping[str, Any], version: int) -> traffic.Variant | None:
        """The running variant at weight 0 holding ``version``, within its window; else None."""
        target = traffic.standby(current)
        until = traffic.warm_until(current)
        if target is None or target.version != version or until is None:
            return None
        if self._clock.now() >= until or current.get("EndpointStatus") != "InService":
            return None
        return target

    def shift(self, env: Environment, current: Mapping[str, Any], version: int) -> EndpointInfo:
        """All traffic to the warm ``version`` at once: one weight update and a wait (no redeploy)."""
        endpoint = str(current["EndpointName"])
        target = self.shift_target(current, version)
        if target is None:
            raise InvalidRequest(f"v{version} is not kept warm on {endpoint}")
        weights = [
            {"VariantName": v.name, "DesiredWeight": 1.0 if v.name == target.name else 0.0}
            for v in traffic.variants(current)
        ]
        with aws_errors(f"endpoint '{endpoint}'"):
            self._aws.sagemaker.update_endpoint_weights_and_capacities(
                EndpointName=endpoint, DesiredWeightsAndCapacities=weights
            )
            final = self._wait_weights(endpoint)
        return self._endpoints.info(env, final)

    def _wait_weights(self, endpoint: str) -> dict[str, Any]:
        # DescribeEndpoint alone, without the waiter's extra describe: a weight shift takes seconds.
        status = "unknown"
        for attempt in range(self.config.waiter_max_attempts):
            if attempt:
                self._clock.sleep(self.config.waiter_delay_seconds)
            data = dict(self._aws.sagemaker.describe_endpoint(EndpointName=endpoint))
            status = str(data.get("EndpointStatus"))
            if status == "InService":
                return data
            if status not in BUSY_ENDPOINT:
                reason = data.get("FailureReason") or "no reason given"
                raise DeploymentFailed(f"{endpoint} became {status} shifting traffic: {reason}")
        raise DeploymentFailed(f"{endpoint} is still {status} after shifting traffic; check it later")

    def path(self, name: str, version: int) -> RollbackPath:
        env = check_environment(name)
        endpoint = self.config.endpoint_name(env)
        current = self._endpoints.or_none(endpoint)
        if current is not None and self.shift_target(current, version) is not None:
            until = traffic.warm_until(current)
            kept = f" (kept until {until:%H:%M} UTC)" if until else ""
            return RollbackPath(
                version, warm=True, detail=f"shifts all traffic to the warm v{version} at once{kept}"
            )
        return RollbackPath(
            version, warm=False, detail=f"redeploys v{version} (a blue/green update, several minutes)"
        )

    def standby(self, name: str) -> WarmStandby | None:
        env = check_environment(name)
        current = self._endpoints.or_none(self.config.endpoint_name(env))
        if current is None:
            return None
        target = traffic.standby(current)
        until = traffic.warm_until(current)
        if target is None or target.version is None or until is None:
            return None
        return WarmStandby(env, target.version, until, self.cost(target.instance_count, env))

    def cost(self, instances: int, env: Environment) -> str:
        """``2 × ml.m5.xlarge for 30m (1 instance-hour)``."""
        window = self.window or timedelta(0)
        hours = instances * window.total_seconds() / 3600
        shown = f"{hours:g}" if hours == math.floor(hours) else f"{hours:.1f}"
        unit = "instance-hour" if hours == 1 else "instance-hours"
        kind = self.config.instance_types[env]
        return f"{instances} × {kind} for {describe_duration(window)} ({shown} {unit})"

    def retire(self, name: str) -> bool:
        """After the window: a blue/green update to a single-variant config of the serving version.

        True when it did; False when nothing is kept warm, the window is still open, or the endpoint is
        busy (the next call tries again).
        """
        env = check_environment(name)
        endpoint = self.config.endpoint_name(env)
        current = self._endpoints.or_none(endpoint)
        if current is None or current.get("EndpointStatus") != "InService":
            return False
        until = traffic.warm_until(current)
        live = traffic.serving(current)
        if until is None or live is None or live.version is None or self._clock.now() < until:
            return False
        now = self._clock.now()
        config_name = naming.config_name(endpoint, live.version, now)
        request: dict[str, Any] = {
            "EndpointConfigName": config_name,
            "ProductionVariants": [
                {
                    "VariantName": traffic.SERVING_VARIANT,
                    "ModelName": self._model_of(current, live.name),
                    "InstanceType": self.config.instance_types[env],
                    "InitialInstanceCount": live.instance_count or self.config.instance_counts[env],
                    "InitialVariantWeight": 1.0,
                }
            ],
            "Tags": naming.tags(
                {
                    naming.TAG_VERSION: str(live.version),
                    naming.TAG_ENVIRONMENT: env,
                    naming.TAG_ENDPOINT: endpoint,
                    naming.TAG_DEPLOYED_BY: "warm standby retired",
                }
            ),
        }
        capture = data_capture_config(self.config)
        if capture is not None:
            request["DataCaptureConfig"] = capture
        with aws_errors(f"endpoint '{endpoint}'"):
            self._aws.sagemaker.create_endpoint_config(**request)
            for variant in traffic.variants(current):
                if variant.name != traffic.SERVING_VARIANT:
                    self._production.release(endpoint, variant.name)
            traffic.update_endpoint(self._aws, env, endpoint, config_name, RETIRE_POLICY)
        try:
            self._wait_in_service(env, endpoint, None)
        except WaitTimedOut as exc:
            raise DeploymentFailed(f"{endpoint} is still {exc.status} retiring its warm standby") from exc
        self._endpoints.mark_served(config_name, {naming.TAG_SERVED_AT: self._clock.now().isoformat()})
        return True

    def _model_of(self, current: Mapping[str, Any], variant: str) -> str:
        config_name = str(current.get("EndpointConfigName"))
        config = self._aws.sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
        for entry in config.get("ProductionVariants", []):
            if entry.get("VariantName") == variant:
                return str(entry["ModelName"])
        raise NotFound(f"Endpoint config {config_name} has no variant {variant}")
