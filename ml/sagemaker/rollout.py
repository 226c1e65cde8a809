"""Changing endpoints: deploy a version and roll back, as blue/green ``UpdateEndpoint`` calls.

Updates are guarded by CloudWatch alarms. Anything created for a deployment that does not end serving
is deleted again, so a failed deploy leaves the endpoint on its previous, validated config.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ml.clock import Clock
from ml.platform import ApprovalStatus, EndpointInfo, Environment, InvalidRequest, NotFound, PlatformError
from ml.rollout_policy import RolloutPolicy
from ml.sagemaker import naming
from ml.sagemaker.capture import data_capture_config
from ml.sagemaker.clients import AwsClients, check_environment
from ml.sagemaker.endpoints import Endpoints, ProgressCallback, WaitInService, WaitTimedOut, check_idle
from ml.sagemaker.errors import DeploymentFailed, aws_errors, translate_error
from ml.sagemaker.production import Production
from ml.sagemaker.registry import Registry, check_version
from ml.sagemaker.traffic import SERVING_VARIANT, update_endpoint
from ml.sagemaker.warm import WarmStandbys

logger = logging.getLogger(__name__)


def _leftover_note(leftovers: list[str]) -> str:
    return f" (could not clean up: {', '.join(leftovers)})" if leftovers else ""


class Rollout:
    """Deploys approved versions to, and rolls back, the endpoints ``Endpoints`` reads."""

    def __init__(
        self,
        aws: AwsClients,
        clock: Clock,
        registry: Registry,
        endpoints: Endpoints,
        production: Production,
        wait_in_service: WaitInService | None = None,
    ) -> None:
        self._aws = aws
        self._wait_in_service = wait_in_service or endpoints.wait_in_service
        self.warm = WarmStandbys(aws, clock, endpoints, production, self._wait_in_service)
        self._clock = clock
        self._registry = registry
        self._endpoints = endpoints
        self._production = production
        self.config = aws.config

    def deploy(
        self,
        name: str,
        version: int,
        deployed_by: str,
        *,
        rollout: RolloutPolicy | None = None,
        progress: ProgressCallback | None = None,
    ) -> EndpointInfo:
        """Deploy ``version`` following ``rollout`` (else the environment's policy); a production promote
        keeps the replaced model warm at weight 0 when warm rollback is on."""
        env = check_environment(name)
        check_version(version)
        policy = rollout or self.config.rollout(env)
        endpoint = self.config.endpoint_name(env)
        target = f"endpoint '{endpoint}'"
        package = self._registry.describe(version)
        if package.approval_status is not ApprovalStatus.APPROVED:
            status = package.approval_status.value
            raise InvalidRequest(f"Version {version} is {status}; only Approved versions can be deployed")
        current = self._endpoints.or_none(endpoint)
        check_idle(endpoint, current)

        started = self._clock.now()
        config_name = naming.config_name(endpoint, version, started)
        resource_tags = naming.tags(
            {
                naming.TAG_VERSION: str(version),
                naming.TAG_ENVIRONMENT: env,
                naming.TAG_ENDPOINT: endpoint,
                naming.TAG_DEPLOYED_BY: deployed_by,
            }
        )
        with aws_errors(target):
            warm = self.warm.variant_for(env, current, started + timedelta(seconds=policy.total_wait_seconds))
        if warm is not None:
            resource_tags += naming.tags({naming.TAG_WARM_UNTIL: warm.until.isoformat()})
        sagemaker = self._aws.sagemaker
        created: list[tuple[str, str]] = []
        try:
            sagemaker.create_model(
                ModelName=config_name,
                ExecutionRoleArn=self.config.execution_role_arn,
                Containers=[{"ModelPackageName": package.arn}],
                Tags=resource_tags,
            )
            created.append(("model", config_name))
            request = self._endpoint_config_request(env, config_name, resource_tags)
            if warm is not None:
                request["ProductionVariants"].append(warm.request)
            sagemaker.create_endpoint_config(**request)
            created.append(("endpoint config", config_name))
            if current is None:
                sagemaker.create_endpoint(
                    EndpointName=endpoint,
                    EndpointConfigName=config_name,
                    Tags=naming.tags({naming.TAG_ENVIRONMENT: env}),
                )
                created.append(("endpoint", endpoint))
            else:
                self._update_endpoint(env, endpoint, config_name, policy)
        except (ClientError, BotoCoreError) as exc:
            error = translate_error(exc, target)
            if not isinstance(exc, ClientError) and self._endpoints.change_may_be_in_flight(
                endpoint, config_name
            ):
                # A timeout may hide an accepted request: deleting its config now would break it.
                raise DeploymentFailed(
                    f"Deploying v{version} to {endpoint}: {error} The request may still be applied; "
                    "check the endpoint's status before retrying."
                ) from exc
            leftovers = self._cleanup(created)
            raise type(error)(str(error) + _leftover_note(leftovers)) from exc

        try:
            final = self._wait_in_service(env, endpoint, progress)
        except WaitTimedOut as exc:
            raise DeploymentFailed(
                f"{endpoint} is still {exc.status} after waiting for v{version}; SageMaker keeps going, "
                "check its status later"
            ) from exc
        except PlatformError as exc:
            if current is None:
                created.append(("failed endpoint", endpoint))
            leftovers = self._cleanup(created)
            raise DeploymentFailed(
                f"Deploying v{version} to {endpoint} failed: {exc}" + _leftover_note(leftovers)
            ) from exc
        undone = self._endpoints.rolled_back(env, final, config_name, started)
        if undone is not None:
            self._cleanup(created)  # the new config never served: nothing can roll back to it
            raise undone
        self._mark_served(config_name, {naming.TAG_SERVED_AT: self._clock.now().isoformat()})
        if env == "production":
            self._production.configure(endpoint, (SERVING_VARIANT, *([warm.name] if warm else [])))
        return self._endpoints.info(env, final)

    def rollback(
        self, name: str, version: int, deployed_by: str, *, progress: ProgressCallback | None = None
    ) -> EndpointInfo:
        env = check_environment(name)
        check_version(version)
        endpoint = self.config.endpoint_name(env)
        current = self._endpoints.or_none(endpoint)
        if current is None:
            raise NotFound(f"Endpoint '{endpoint}' ({env}) does not exist; there is nothing to roll back")
        check_idle(endpoint, current)
        if self._endpoints.info(env, current).version == version:
            raise InvalidRequest(f"{endpoint} already serves v{version}")
        if self.warm.shift_target(current, version) is not None:
            return self.warm.shift(env, current, version)
        package = self._registry.describe(version)
        if package.approval_status is ApprovalStatus.REJECTED:
            raise InvalidRequest(
                f"Version {version} was rejected; approve it again before rolling back to it"
            )
        with aws_errors(f"endpoint '{endpoint}'"):
            config = self._endpoints.served_config(endpoint, version)
            if config is None:
                raise InvalidRequest(
                    f"Version {version} was never deployed to {endpoint}; deploy it instead of rolling back"
                )
            self._check_models_exist(config, version)
            started = self._clock.now()
            self._update_endpoint(env, endpoint, config, RolloutPolicy("all-at-once", bake_seconds=0))
        try:
            final = self._wait_in_service(env, endpoint, progress)
        except WaitTimedOut as exc:
            raise DeploymentFailed(f"{endpoint} is still {exc.status} rolling back to v{version}") from exc
        except PlatformError as exc:
            raise DeploymentFailed(f"Rolling {endpoint} back to v{version} failed: {exc}") from exc
        undone = self._endpoints.rolled_back(env, final, config, started)
        if undone is not None:
            raise undone
        self._mark_served(
            config,
            {naming.TAG_ROLLBACK_AT: self._clock.now().isoformat(), naming.TAG_ROLLBACK_BY: deployed_by},
        )
        if env == "production":
            self._production.configure(endpoint)
        return self._endpoints.info(env, final)

    def _endpoint_config_request(
        self, env: Environment, name: str, resource_tags: list[dict[str, str]]
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            "EndpointConfigName": name,
            "ProductionVariants": [
                {
                    "VariantName": SERVING_VARIANT,
                    "ModelName": name,
                    "InstanceType": self.config.instance_types[env],
                    "InitialInstanceCount": self.config.instance_counts[env],
                    "InitialVariantWeight": 1.0,
                }
            ],
            "Tags": resource_tags,
        }
        capture = data_capture_config(self.config)  # every endpoint: the drift check reads both
        if capture is not None:
            request["DataCaptureConfig"] = capture
        return request

    def _update_endpoint(
        self, env: Environment, endpoint: str, config_name: str, policy: RolloutPolicy
    ) -> None:
        update_endpoint(self._aws, env, endpoint, config_name, policy)

    def _cleanup(self, created: list[tuple[str, str]]) -> list[str]:
        """Delete what a failed deployment created, newest first; return what could not be deleted."""
        sagemaker = self._aws.sagemaker
        deleters: dict[str, Callable[[str], object]] = {
            "model": lambda n: sagemaker.delete_model(ModelName=n),
            "endpoint config": lambda n: sagemaker.delete_endpoint_config(EndpointConfigName=n),
            "endpoint": lambda n: sagemaker.delete_endpoint(EndpointName=n),
            "failed endpoint": lambda n: sagemaker.delete_endpoint(EndpointName=n),
        }
        leftovers: list[str] = []
        for kind, resource in reversed(created):
            try:
                deleters[kind](resource)
            except (ClientError, BotoCoreError) as exc:
                logger.error(
                    "Could not delete %s %s after a failed deployment; delete it by hand: %s",
                    kind,
                    resource,
                    translate_error(exc, f"{kind} '{resource}'"),
                )
                leftovers.append(f"{kind} {resource}")
            else:
                logger.info("Deleted %s %s after a failed deployment", kind, resource)
        return leftovers

    def _mark_served(self, config_name: str, values: Mapping[str, str]) -> None:
        self._endpoints.mark_served(config_name, values)

    def _check_models_exist(self, config_name: str, version: int) -> None:
        sagemaker = self._aws.sagemaker
        config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
        for variant in config.get("ProductionVariants", []):
            model = str(variant["ModelName"])
            try:
                sagemaker.describe_model(ModelName=model)
            except ClientError as exc:
                if isinstance(translate_error(exc, model), NotFound):
                    raise InvalidRequest(
                        f"The model behind v{version}'s earlier deployment ({model}) was deleted; "
                        "deploy the version again instead"
                    ) from exc
                raise
