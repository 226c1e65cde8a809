"""Reading endpoints: status, the configs this platform made for them, their history, and waiting.

Every model and endpoint config is named after the endpoint and version it serves (see ``naming``)
and tagged once it served traffic, which is what rollback and history read back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from ml.platform import (
    Deployment,
    EndpointInfo,
    EndpointStatus,
    Environment,
    InvalidRequest,
    NotFound,
    PlatformError,
    RolledBack,
)
from ml.sagemaker import deployments, naming, traffic
from ml.sagemaker.clients import AwsPart, check_environment
from ml.sagemaker.errors import AwsUnavailable, DeploymentFailed, Throttled, aws_errors, translate_error

logger = logging.getLogger(__name__)

_ENDPOINT_STATUS = {
    "OutOfService": EndpointStatus.OUT_OF_SERVICE,
    "Creating": EndpointStatus.CREATING,
    "Updating": EndpointStatus.UPDATING,
    "SystemUpdating": EndpointStatus.UPDATING,
    "RollingBack": EndpointStatus.ROLLING_BACK,
    "InService": EndpointStatus.IN_SERVICE,
    "Deleting": EndpointStatus.OUT_OF_SERVICE,
    "Failed": EndpointStatus.FAILED,
    "UpdateRollbackFailed": EndpointStatus.FAILED,
}
BUSY_ENDPOINT = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})

ProgressCallback = Callable[[EndpointInfo], None]
#: (environment, endpoint, progress) -> the endpoint's description once it is InService
WaitInService = Callable[[Environment, str, ProgressCallback | None], dict[str, Any]]


class WaitTimedOut(Exception):
    """The endpoint was still busy when the waiter's attempts ran out."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


def _transient(error: Exception, endpoint: str) -> bool:
    """Whether a failure to read the endpoint while waiting is worth another poll (and logs it)."""
    translated = translate_error(error, f"endpoint '{endpoint}'")
    if isinstance(translated, Throttled | AwsUnavailable):
        logger.warning("Could not read %s while waiting for it (%s); polling again", endpoint, translated)
        return True
    return False


def check_idle(endpoint: str, current: Mapping[str, Any] | None) -> None:
    """Refuse to change an endpoint that is mid-change or broken."""
    if current is None:
        return
    status = str(current.get("EndpointStatus"))
    if status in BUSY_ENDPOINT:
        raise InvalidRequest(f"{endpoint} is {status}; wait until it is InService")
    if status in ("Failed", "UpdateRollbackFailed"):
        reason = current.get("FailureReason") or "no reason given"
        raise InvalidRequest(
            f"{endpoint} is {status} ({reason}); it must be repaired or deleted in AWS first"
        )


class Endpoints(AwsPart):
    """The staging and production endpoints as SageMaker reports them."""

    def describe(self, name: str) -> EndpointInfo:
        env = check_environment(name)
        endpoint = self.config.endpoint_name(env)
        data = self.or_none(endpoint)
        if data is None:
            raise NotFound(
                f"Endpoint '{endpoint}' ({env}) does not exist yet; deploying a version creates it"
            )
        return self.info(env, data)

    def or_none(self, name: str) -> dict[str, Any] | None:
        try:
            with aws_errors(f"endpoint '{name}'"):
                return dict(self._aws.sagemaker.describe_endpoint(EndpointName=name))
        except NotFound:
            return None

    @staticmethod
    def info(env: Environment, data: Mapping[str, Any]) -> EndpointInfo:
        return EndpointInfo(
            environment=env,
            name=str(data["EndpointName"]),
            status=_ENDPOINT_STATUS.get(str(data.get("EndpointStatus")), EndpointStatus.OUT_OF_SERVICE),
            # after an instant rollback the warm variant serves, not the one the config is named after
            version=traffic.serving_version(data),
            updated_at=data.get("LastModifiedTime"),
            failure_reason=data.get("FailureReason") or None,
        )

    def wait_in_service(
        self, env: Environment, endpoint: str, progress: ProgressCallback | None
    ) -> dict[str, Any]:
        """Poll with the ``endpoint_in_service`` waiter one attempt at a time, reporting progress."""
        sagemaker = self._aws.sagemaker
        waiter = sagemaker.get_waiter("endpoint_in_service")
        status = "unknown"
        for attempt in range(self.config.waiter_max_attempts):
            if attempt:
                self._clock.sleep(self.config.waiter_delay_seconds)
            try:
                waiter.wait(EndpointName=endpoint, WaiterConfig={"Delay": 0, "MaxAttempts": 1})
            except WaiterError as exc:
                last = exc.last_response if isinstance(exc.last_response, dict) else {}
                status = str(last.get("EndpointStatus", "unknown"))
                error = last.get("Error")
                if isinstance(error, dict) and _transient(ClientError(last, "DescribeEndpoint"), endpoint):
                    continue  # throttled or a server error: the change goes on, so keep watching
                if error or status in ("Failed", "UpdateRollbackFailed", "OutOfService"):
                    reason = last.get("FailureReason") or last.get("Error", {}).get("Message")
                    raise DeploymentFailed(
                        f"{endpoint} became {status}: {reason or 'no reason given'}"
                    ) from exc
                if progress is not None and "EndpointName" in last:
                    progress(self.info(env, last))
                continue
            except BotoCoreError as exc:  # a timeout or lost connection says nothing about the endpoint
                _transient(exc, endpoint)
                continue
            try:
                return dict(sagemaker.describe_endpoint(EndpointName=endpoint))
            except (ClientError, BotoCoreError) as exc:
                if not _transient(exc, endpoint):
                    raise translate_error(exc, f"endpoint '{endpoint}'") from exc
        raise WaitTimedOut(status)

    def change_may_be_in_flight(self, endpoint: str, config_name: str) -> bool:
        try:
            data = self.or_none(endpoint)
        except PlatformError:
            return True
        if data is None:
            return False
        pending = (data.get("PendingDeploymentSummary") or {}).get("EndpointConfigName")
        return bool(
            data.get("EndpointConfigName") == config_name
            or pending == config_name
            or data.get("EndpointStatus") in BUSY_ENDPOINT
        )

    def tags(self, arn: str) -> dict[str, str]:
        pairs: list[dict[str, str]] = []
        paginator = self._aws.sagemaker.get_paginator("list_tags")
        for page in paginator.paginate(ResourceArn=arn):
            pairs.extend(page.get("Tags", []))
        return naming.tag_map(pairs)

    def configs(self, endpoint: str, version: int | None = None) -> list[dict[str, Any]]:
        """Configs this platform made for ``endpoint`` (and ``version``), oldest first."""
        prefix = naming.config_prefix(endpoint, version)
        found: list[dict[str, Any]] = []
        paginator = self._aws.sagemaker.get_paginator("list_endpoint_configs")
        for page in paginator.paginate(NameContains=prefix, SortBy="CreationTime", SortOrder="Ascending"):
            for config in page.get("EndpointConfigs", []):
                parsed = naming.parse_config_name(endpoint, str(config["EndpointConfigName"]))
                if parsed is not None and (version is None or parsed[0] == version):
                    found.append(config)
        found.sort(key=lambda c: (c["CreationTime"], c["EndpointConfigName"]))
        return found

    def served_config(self, endpoint: str, version: int) -> str | None:
        """The newest config of ``version`` that once served on ``endpoint``."""
        for config in reversed(self.configs(endpoint, version)):
            if naming.TAG_SERVED_AT in self.tags(str(config["EndpointConfigArn"])):
                return str(config["EndpointConfigName"])
        return None

    def mark_served(self, config_name: str, values: Mapping[str, str]) -> None:
        """Record on the config that it served traffic: rollback and history rely on it."""
        sagemaker = self._aws.sagemaker
        try:
            arn = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)["EndpointConfigArn"]
            sagemaker.add_tags(ResourceArn=arn, Tags=naming.tags(dict(values)))
        except (ClientError, BotoCoreError) as exc:
            logger.error(
                "Endpoint config %s serves traffic but could not be tagged (rollbacks to it are refused): %s",
                config_name,
                translate_error(exc, f"endpoint config '{config_name}'"),
            )

    def rolled_back(
        self, env: Environment, final: Mapping[str, Any], requested_config: str, since: datetime
    ) -> RolledBack | None:
        return deployments.rolled_back(
            environment=env,
            final=final,
            requested_config=requested_config,
            cloudwatch=self._aws.client("cloudwatch"),
            configured_alarms=self.config.rollback_alarm_names,
            since=since,
        )

    def rolled_back_update(self, name: str, version: int) -> RolledBack | None:
        """SageMaker's own rollback of the newest update towards ``version`` (see ``deployments``).

        That update's config never served (it carries no served-at tag), and the endpoint changed after
        the config was made yet is InService on another one: SageMaker took it back.
        """
        env = check_environment(name)
        endpoint = self.config.endpoint_name(env)
        with aws_errors(f"endpoint '{endpoint}'"):
            data = self.or_none(endpoint)
            if data is None or data.get("EndpointStatus") != "InService":
                return None
            configs = self.configs(endpoint, version)
            if not configs or data.get("EndpointConfigName") == configs[-1]["EndpointConfigName"]:
                return None
            newest = configs[-1]
            modified = data.get("LastModifiedTime")
            if not isinstance(modified, datetime) or modified < newest["CreationTime"]:
                return None  # the endpoint has not changed since: the update never began
            if naming.TAG_SERVED_AT in self.tags(str(newest["EndpointConfigArn"])):
                return None
            return self.rolled_back(env, data, str(newest["EndpointConfigName"]), newest["CreationTime"])

    def history(self, name: str) -> list[Deployment]:
        """Best-effort history from the endpoint configs' tags, oldest first."""
        env = check_environment(name)
        endpoint = self.config.endpoint_name(env)
        with aws_errors(f"endpoint '{endpoint}'"):
            configs = self.configs(endpoint)
            pool = self._aws.executor()
            tag_futures = [(c, pool.submit(self.tags, str(c["EndpointConfigArn"]))) for c in configs]
            history: list[Deployment] = []
            for summary, future in tag_futures:
                config_name = str(summary["EndpointConfigName"])
                parsed = naming.parse_config_name(endpoint, config_name)
                if parsed is None:
                    continue
                tag = future.result()
                events: tuple[tuple[str, str, Literal["deploy", "rollback"]], ...] = (
                    (naming.TAG_SERVED_AT, naming.TAG_DEPLOYED_BY, "deploy"),
                    (naming.TAG_ROLLBACK_AT, naming.TAG_ROLLBACK_BY, "rollback"),
                )
                for at_tag, by_tag, kind in events:
                    at = naming.parse_time(tag.get(at_tag))
                    if at is not None:
                        history.append(Deployment(env, parsed[0], at, tag.get(by_tag, ""), kind, config_name))
        history.sort(key=lambda d: d.deployed_at)
        return history
