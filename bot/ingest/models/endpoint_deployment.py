"""``SageMaker Endpoint Deployment State Change``: progress of a blue/green or rolling update."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from ml.platform import DT_ENDPOINT_DEPLOYMENT, EVENT_SOURCE, EndpointStatus

from .endpoint import EndpointDetail, ProductionVariant
from .envelope import EventBridgeEvent
from .fields import OBJECT_OR_NONE, OBJECTS, AwsModel, OptionalText, Time


class PendingDeploymentSummary(AwsModel):
    config_name: OptionalText = Field(default=None, alias="EndpointConfigName")
    started_at: Time = Field(default=None, alias="StartTime")
    variants: Annotated[tuple[ProductionVariant, ...], OBJECTS] = Field(
        default=(), alias="ProductionVariants"
    )


class EndpointDeploymentDetail(EndpointDetail):
    DETAIL_TYPE: ClassVar[str] = DT_ENDPOINT_DEPLOYMENT

    pending: Annotated[PendingDeploymentSummary | None, OBJECT_OR_NONE] = Field(
        default=None, alias="PendingDeploymentSummary"
    )

    @property
    def pending_config_name(self) -> str | None:
        return self.pending.config_name if self.pending else None

    @property
    def stage_messages(self) -> tuple[str, ...]:
        """``VariantStatus`` messages of the deployment in progress, pending ones first, once each."""
        variants = (*(self.pending.variants if self.pending else ()), *self.variants)
        messages = [s.message for v in variants for s in v.statuses if s.message]
        return tuple(dict.fromkeys(messages))

    @property
    def failed(self) -> bool:
        """A failed update, or one SageMaker is undoing (auto-rollback on an alarm).

        Once the endpoint is InService again it is an ending, whatever reason it carries: which
        config it ended on (the requested one, or the old one after a rollback) is checked then.
        """
        if self.status is EndpointStatus.IN_SERVICE:
            return False
        return self.status in (EndpointStatus.FAILED, EndpointStatus.ROLLING_BACK) or bool(
            self.failure_reason
        )


class EndpointDeploymentStateChange(EventBridgeEvent):
    SOURCE: ClassVar[str | None] = EVENT_SOURCE
    DETAIL_TYPE: ClassVar[str | None] = DT_ENDPOINT_DEPLOYMENT
    detail: EndpointDeploymentDetail
