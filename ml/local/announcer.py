"""Publishes the platform's state changes as SageMaker's EventBridge events, read back from the registry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ml.platform import EndpointStatus, ExecutionStatus, ModelPackage, StepStatus

from . import deployment_events, events
from .events import EventBus
from .registry import EndpointRow, Registry


class Announcer:
    """Builds each event from what the registry holds (committed first), then hands it to the bus.

    Events that carry no time of their own are stamped by the registry's clock.
    """

    def __init__(self, registry: Registry, bus: EventBus, pipeline_name: str) -> None:
        self._registry = registry
        self._bus = bus
        self._pipeline_name = pipeline_name

    def execution(
        self,
        execution_id: str,
        current: ExecutionStatus,
        previous: ExecutionStatus | None,
        *,
        pipeline: str | None = None,
    ) -> None:
        """A "SageMaker Model Building Pipeline Execution Status Change" for the run as recorded."""
        execution = self._registry.get_execution(execution_id)
        self._bus.publish(
            events.execution_status_event(
                pipeline_name=pipeline or self._pipeline_name,
                execution_id=execution_id,
                display_name=self._registry.execution_display_name(execution_id),
                current=current,
                previous=previous,
                started_at=execution.started_at,
                ended_at=execution.ended_at,
                failure_reason=execution.failure_reason,
                at=self._registry.clock.now(),
            )
        )

    def step(
        self,
        execution_id: str,
        step: str,
        current: StepStatus,
        previous: StepStatus,
        started: datetime,
        ended: datetime | None = None,
        reason: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self._bus.publish(
            events.step_status_event(
                pipeline_name=self._pipeline_name,
                execution_id=execution_id,
                step_name=step,
                current=current,
                previous=previous,
                started_at=started,
                ended_at=ended,
                failure_reason=reason,
                metadata=metadata,
                at=self._registry.clock.now(),
            )
        )

    def endpoint(self, row: EndpointRow) -> None:
        self._bus.publish(
            events.endpoint_state_event(
                endpoint_name=row.name,
                config_name=row.config_name,
                status=row.status,
                created_at=row.created_at,
                modified_at=row.updated_at,
                failure_reason=row.failure_reason,
                tags={"environment": row.environment, "model-package-group": row.group},
            )
        )

    def deployment(
        self,
        row: EndpointRow,
        status: EndpointStatus,
        variants: Sequence[tuple[str, int, int]],
        *,
        pending: tuple[str, datetime, Sequence[tuple[str, int, deployment_events.Stage, str]]] | None = None,
        failure_reason: str | None = None,
    ) -> None:
        """A "SageMaker Endpoint Deployment State Change": ``variants`` serving now as (name, current %,
        desired %); ``pending`` the update in flight as (config, start, [(variant, weight %, stage,
        message)])."""
        now = self._registry.clock.now()
        pending_variants = [
            deployment_events.variant(name, weight, 100, [deployment_events.stage(stage, message, now)])
            for name, weight, stage, message in (pending[2] if pending else ())
        ]
        self._bus.publish(
            deployment_events.deployment_event(
                endpoint_name=row.name,
                config_name=row.config_name,
                status=status,
                created_at=row.created_at,
                modified_at=now,
                variants=[deployment_events.variant(n, c, d) for n, c, d in variants],
                pending_config=pending[0] if pending else None,
                pending_started_at=pending[1] if pending else None,
                pending_variants=pending_variants,
                failure_reason=failure_reason,
                tags={"environment": row.environment, "model-package-group": row.group},
            )
        )

    def model_package(
        self, package: ModelPackage, modified_at: datetime, updated_fields: Sequence[str] = ()
    ) -> None:
        self._bus.publish(
            events.model_package_event(
                group=package.group,
                version=package.version,
                approval_status=package.approval_status,
                created_at=package.created_at,
                modified_at=modified_at,
                approval_description=package.approval_description,
                model_data_url=package.artifact_uri,
                evaluation_uri=package.artifact_uri + "evaluation.json",
                generated_by=package.lineage.get("execution_id"),
                customer_metadata=package.lineage,
                updated_fields=updated_fields,
                life_cycle=package.life_cycle.request() if package.life_cycle else None,
            )
        )
