"""Deploy and roll back local endpoints: one change at a time, confirmed by the host, guarded by alarms.

A promote by a gradual policy (or with a bake, or keeping a warm standby) goes through
``rollout_engine``; a rollback to a warm version through ``warm_standby``; the rest swaps the model at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from ml.clock import Clock
from ml.platform import (
    ApprovalStatus,
    EndpointStatus,
    Environment,
    InvalidRequest,
    ModelPackage,
    PlatformError,
)
from ml.rollout_policy import RolloutPolicy

from . import rollout, warm_standby
from .announcer import Announcer
from .capture import CaptureSettings
from .endpoints import EndpointHost, ensure_host_process, host_status
from .host_link import HostLink
from .registry import TRANSITIONAL_ENDPOINT_STATUSES, EndpointRow, OwnerToken, Registry
from .rollout_engine import RolloutEngine, begin_change

log = logging.getLogger(__name__)

INTERRUPTED_DEPLOY = "interrupted: the process deploying it stopped"
_POLL_INTERVAL_S = 0.05


def recover_endpoints(registry: Registry, owner: OwnerToken, announce: Announcer) -> None:
    """Fail the changes a dead process left Creating or Updating; the endpoints keep what they served."""
    for row in registry.list_endpoints():
        if row.status in TRANSITIONAL_ENDPOINT_STATUSES and not (row.owner and owner.alive(row.owner)):
            announce.endpoint(registry.fail_endpoint_change(row.name, INTERRUPTED_DEPLOY))


class EndpointChanges:
    """Moves an endpoint to a model version and waits until the endpoint host serves it."""

    def __init__(
        self,
        *,
        registry: Registry,
        announce: Announcer,
        owner: OwnerToken,
        home: Path,
        group: str,
        host: EndpointHost | None,
        endpoint_port: int,
        deploy_timeout: float,
        rollback_alarm_names: tuple[str, ...],
        clock: Clock,
        capture: CaptureSettings | None = None,
        warm_rollback: timedelta | None = None,
    ) -> None:
        self._registry = registry
        self._announce = announce
        self._owner = owner
        self._home = home
        self._group = group
        self._host = host
        self._endpoint_port = endpoint_port
        self._deploy_timeout = deploy_timeout
        #: alarms (``home/alarms.json``) that roll an update back, as AutoRollbackConfiguration does
        self.rollback_alarm_names = rollback_alarm_names
        self._clock = clock
        self._capture = capture
        self._lock = threading.Lock()
        self.link = HostLink(home, host, port=endpoint_port, clock=clock, capture=capture)
        self.engine = RolloutEngine(
            registry=registry,
            announce=announce,
            owner=owner,
            home=home,
            group=group,
            link=self.link,
            rollback_alarm_names=rollback_alarm_names,
            warm_rollback=warm_rollback,
            clock=clock,
        )

    def deploy(
        self,
        environment: Environment,
        name: str,
        package: ModelPackage,
        deployed_by: str,
        policy: RolloutPolicy,
    ) -> EndpointRow:
        """Serve an Approved ``package``; an endpoint already serving it is left as it is.

        ``policy``: how traffic moves to it; a first deploy, or all at once with no bake and nothing
        to keep warm, is one switch."""
        if package.approval_status is not ApprovalStatus.APPROVED:
            raise InvalidRequest(
                f"v{package.version} is {package.approval_status}: only Approved versions can be deployed"
            )
        row = self._registry.get_endpoint(name)
        if row is not None and row.status is EndpointStatus.IN_SERVICE and row.version == package.version:
            return row  # already serving it: nothing to change
        gradual = policy.gradual or policy.bake_seconds > 0 or self.engine.warm_rollback is not None
        if not gradual or row is None or row.version is None or row.model_dir is None:
            return self.change(environment, name, package, deployed_by, "deploy")
        model_dir = _checked_model_dir(package, deployed_by)
        return self.engine.run(environment, name, package, model_dir, deployed_by, policy, row)

    def rollback(
        self,
        environment: Environment,
        name: str,
        version: int,
        deployed_by: str,
        package_of: Callable[[int], ModelPackage],
    ) -> EndpointRow:
        """Serve again a version the endpoint served before: by moving the weights when it is still warm."""
        if deployed_by and deployed_by.strip():
            # A warm variant served before by definition: no need to read the whole history first.
            shifted = warm_standby.shift_back(
                registry=self._registry,
                announce=self._announce,
                link=self.link,
                clock=self._clock,
                window=self.engine.warm_rollback,
                name=name,
                version=version,
                deployed_by=deployed_by,
            )
            if shifted is not None:
                log.info("rollback: %s shifted its traffic to the warm v%d (%s)", name, version, deployed_by)
                return shifted
        served = sorted({d.version for d in self._registry.deployments(name)})
        if not served:
            raise InvalidRequest(f"{environment} has never served a model: there is nothing to roll back to")
        if version not in served:
            listing = ", ".join(f"v{v}" for v in served)
            raise InvalidRequest(
                f"{environment} never served v{version}: "
                f"it can roll back only to a version it served before ({listing})"
            )
        row = self._registry.get_endpoint(name)
        if row is not None and row.status is EndpointStatus.IN_SERVICE and row.version == version:
            raise InvalidRequest(f"{environment} already serves v{version}")
        return self.change(environment, name, package_of(version), deployed_by, "rollback")

    def change(
        self,
        environment: Environment,
        name: str,
        package: ModelPackage,
        deployed_by: str,
        kind: Literal["deploy", "rollback"],
    ) -> EndpointRow:
        """Serve ``package`` on endpoint ``name``; raises PlatformError (or RolledBack) if it did not."""
        model_dir = _checked_model_dir(package, deployed_by)
        with self._lock:
            before = self._registry.get_endpoint(name)
            row = begin_change(
                self._registry,
                self._owner,
                self._group,
                environment,
                name,
                package.version,
                str(model_dir),
                self._clock.now(),
            )
            config_name = row.config_name
            self._announce.endpoint(row)
            try:
                failure = self._await_serving(row, package.version, str(model_dir))
            except Exception as exc:
                log.exception("%s of v%d to %s failed", kind, package.version, name)
                failure = str(exc) or type(exc).__name__
            if failure is None and before is not None and before.version is not None:
                failure = self._guard_update(environment, before, package.version, config_name)
            if failure is None:
                done = self._registry.finish_endpoint_change(name, deployed_by=deployed_by, kind=kind)
                self._announce.endpoint(done)
                log.info(
                    "%s: %s now serves v%d (%s by %s)", kind, name, package.version, config_name, deployed_by
                )
                return done
            failed = self._registry.fail_endpoint_change(name, failure)
            if self._host is not None:
                self._host.sync()  # the new model may have loaded: serve the kept version again now
            self._announce.endpoint(failed)
        raise PlatformError(f"{kind} of v{package.version} to {environment} failed: {failure}")

    def _guard_update(
        self, environment: Environment, before: EndpointRow, version: int, config_name: str
    ) -> str | None:
        """The rollout guard: put the endpoint back and raise ``RolledBack`` if a guarding alarm fired."""
        try:
            alarms = rollout.fired(self._home, self.rollback_alarm_names)
        except PlatformError as exc:
            return f"the rollout guard could not read its alarms: {exc}"
        if not alarms:
            return None
        why = rollout.reason(self._home, alarms)
        back, undone = rollout.revert(
            self._registry, before, version=version, config_name=config_name, alarms=alarms, why=why
        )
        if before.model_dir is not None and before.version is not None:
            problem = self._await_serving(back, before.version, before.model_dir)
            if problem:
                log.error("%s: going back to v%d: %s", back.name, before.version, problem)
        self._announce.endpoint(back)
        log.warning("%s: %s; still serving v%s", back.name, why, back.version)
        raise undone

    def _await_serving(self, row: EndpointRow, version: int, model_dir: str) -> str | None:
        """Wait until the host serves ``version``; returns None, or why it could not."""
        if self._host is not None:
            self._host.sync()
            status = self._host.status()
        else:
            record = ensure_host_process(
                self._home, port=self._endpoint_port, clock=self._clock, capture=self._capture
            )
            deadline = self._clock.monotonic() + self._deploy_timeout
            while True:
                status = host_status(record.url) or {}
                if _served_or_failed(status, row, version, model_dir) or self._clock.monotonic() > deadline:
                    break
                self._clock.sleep(_POLL_INTERVAL_S)
        entry = status.get("endpoints", {}).get(row.name) or {}
        if entry.get("version") == version and entry.get("model_dir") == model_dir:
            return None
        error = entry.get("error") or {}
        if error.get("version") == version:
            return f"the model did not load: {error.get('message')}"
        return f"the endpoint host did not serve v{version} within {self._deploy_timeout:.0f} s"


def _served_or_failed(status: Mapping[str, Any], row: EndpointRow, version: int, model_dir: str) -> bool:
    entry = status.get("endpoints", {}).get(row.name) or {}
    if entry.get("version") == version and entry.get("model_dir") == model_dir:
        return True
    error = entry.get("error") or {}
    return bool(error.get("version") == version and error.get("generation") == row.generation)


def _checked_model_dir(package: ModelPackage, deployed_by: str) -> Path:
    """The version's model directory, once it is known who asks and that the model file is there."""
    if not deployed_by or not deployed_by.strip():
        raise InvalidRequest("deployed_by must name who asked for the change")
    model_dir = _uri_to_path(package.artifact_uri)
    if not (model_dir / "xgboost-model").is_file():
        raise PlatformError(f"v{package.version}'s model file is missing from {model_dir}")
    return model_dir


def _uri_to_path(uri: str) -> Path:
    return Path(unquote(urlsplit(uri).path))
