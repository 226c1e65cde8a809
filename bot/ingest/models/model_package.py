"""``SageMaker Model Package State Change``: a registered model version changed (approval, stage)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, Field, model_validator

from ml.platform import DT_MODEL_PACKAGE, EVENT_SOURCE, ApprovalStatus

from .envelope import EventBridgeEvent, check_envelope
from .fields import OBJECT_OR_NONE, AwsModel, EventError, OptionalText, Time, arn_name, enum_or_raw, to_int


class MetadataProperties(AwsModel):
    generated_by: OptionalText = Field(default=None, alias="GeneratedBy")
    project_id: OptionalText = Field(default=None, alias="ProjectId")
    repository: OptionalText = Field(default=None, alias="Repository")
    commit_id: OptionalText = Field(default=None, alias="CommitId")


class ModelLifeCycle(AwsModel):
    stage: OptionalText = Field(default=None, alias="Stage")
    stage_status: OptionalText = Field(default=None, alias="StageStatus")
    stage_description: OptionalText = Field(default=None, alias="StageDescription")


class ModelPackageDetail(AwsModel):
    group: str = Field(default="", alias="ModelPackageGroupName")
    version: int = Field(alias="ModelPackageVersion")
    arn: str = Field(default="", alias="ModelPackageArn")
    approval_status: Annotated[ApprovalStatus | str, BeforeValidator(enum_or_raw(ApprovalStatus))] = Field(
        alias="ModelApprovalStatus"
    )
    package_status: OptionalText = Field(default=None, alias="ModelPackageStatus")
    approval_description: OptionalText = Field(default=None, alias="ApprovalDescription")
    created_at: Time = Field(default=None, alias="CreationTime")
    modified_at: Time = Field(default=None, alias="LastModifiedTime")
    metadata: Annotated[MetadataProperties | None, OBJECT_OR_NONE] = Field(
        default=None, alias="MetadataProperties"
    )
    life_cycle: Annotated[ModelLifeCycle | None, OBJECT_OR_NONE] = Field(default=None, alias="ModelLifeCycle")

    @model_validator(mode="before")
    @classmethod
    def _identity(cls, raw: Any) -> Any:
        """Version and group read from the ARN when the detail leaves them out."""
        if not isinstance(raw, Mapping):
            return raw
        raw = dict(raw)
        arn = raw.get("ModelPackageArn", raw.get("arn"))
        arn = arn if isinstance(arn, str) else ""
        version = to_int(raw.get("ModelPackageVersion", raw.get("version")), "ModelPackageVersion")
        if version is None and arn:
            version = to_int(arn.rstrip("/").rsplit("/", 1)[-1], "ModelPackageVersion")
        if version is None:
            raise EventError(f"{DT_MODEL_PACKAGE!r} event has no ModelPackageVersion")
        group = raw.get("ModelPackageGroupName", raw.get("group"))
        if not isinstance(group, str) or not group:
            group = arn_name(arn, "model-package") or ""
        raw.update(ModelPackageVersion=version, ModelPackageArn=arn, ModelPackageGroupName=group)
        for name in ("version", "arn", "group"):
            raw.pop(name, None)
        return raw

    @property
    def generated_by(self) -> str | None:
        """The pipeline execution that registered the version, when it says so."""
        return self.metadata.generated_by if self.metadata else None


class ModelPackageStateChange(EventBridgeEvent):
    SOURCE: ClassVar[str | None] = EVENT_SOURCE
    DETAIL_TYPE: ClassVar[str | None] = DT_MODEL_PACKAGE
    detail: ModelPackageDetail

    @model_validator(mode="before")
    @classmethod
    def _arn_from_resources(cls, raw: Any) -> Any:
        """The package ARN from ``resources`` when the detail leaves it out."""
        raw = check_envelope(cls, raw)
        detail = raw.get("detail")
        if isinstance(detail, Mapping) and not detail.get("ModelPackageArn"):
            arn = next((r for r in raw["resources"] if ":model-package/" in r), "")
            raw["detail"] = {**detail, "ModelPackageArn": arn}
        return raw
