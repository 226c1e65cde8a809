"""``SageMaker Endpoint State Change``: an endpoint was created, updated, failed or deleted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import AliasChoices, Field, model_validator

from ml.platform import DT_ENDPOINT, EVENT_SOURCE, EndpointStatus

from .envelope import EventBridgeEvent
from .fields import OBJECTS, AwsModel, EventError, OptionalText, Tags, Time, arn_name, loose_str


class VariantStatus(AwsModel):
    status: OptionalText = Field(default=None, alias="Status")
    message: OptionalText = Field(default=None, alias="StatusMessage")
    started_at: Time = Field(default=None, alias="StartTime")


class ProductionVariant(AwsModel):
    name: OptionalText = Field(default=None, alias="VariantName")
    #: stages of a deployment in progress ("Baking for 600 seconds ...")
    statuses: Annotated[tuple[VariantStatus, ...], OBJECTS] = Field(default=(), alias="VariantStatus")


class EndpointDetail(AwsModel):
    """The fields both endpoint detail-types carry (``DescribeEndpoint``'s names)."""

    endpoint_name: str = Field(alias="EndpointName")
    endpoint_arn: OptionalText = Field(default=None, alias="EndpointArn")
    #: the status as sent: ``IN_SERVICE`` in events, ``InService`` in the API
    raw_status: str = Field(default="", alias="EndpointStatus")
    config_name: OptionalText = Field(default=None, alias="EndpointConfigName")
    failure_reason: OptionalText = Field(
        default=None, validation_alias=AliasChoices("FailureReason", "failureReason", "failure_reason")
    )
    created_at: Time = Field(default=None, alias="CreationTime")
    modified_at: Time = Field(default=None, alias="LastModifiedTime")
    variants: Annotated[tuple[ProductionVariant, ...], OBJECTS] = Field(
        default=(), alias="ProductionVariants"
    )
    tags: Tags = Field(default_factory=dict, alias="Tags")

    #: the detail-type named in refusals
    DETAIL_TYPE: ClassVar[str] = DT_ENDPOINT

    @model_validator(mode="before")
    @classmethod
    def _name(cls, raw: Any) -> Any:
        """The endpoint name from its ARN when the detail leaves it out; the status as text."""
        if not isinstance(raw, Mapping):
            return raw
        raw = dict(raw)
        name = loose_str(raw.get("EndpointName", raw.get("endpoint_name")))
        if not isinstance(name, str) or not name:
            arn = raw.get("EndpointArn", raw.get("endpoint_arn"))
            name = arn_name(arn if isinstance(arn, str) else None, "endpoint")
        if not name:
            raise EventError(f"{cls.DETAIL_TYPE!r} event has no EndpointName")
        raw.pop("endpoint_name", None)
        raw["EndpointName"] = name
        status = loose_str(raw.pop("EndpointStatus", raw.pop("raw_status", None)))
        raw["EndpointStatus"] = status if isinstance(status, str) else ""
        return raw

    @property
    def status(self) -> EndpointStatus | None:
        return EndpointStatus.parse(self.raw_status)


class EndpointStateChange(EventBridgeEvent):
    SOURCE: ClassVar[str | None] = EVENT_SOURCE
    DETAIL_TYPE: ClassVar[str | None] = DT_ENDPOINT
    detail: EndpointDetail
