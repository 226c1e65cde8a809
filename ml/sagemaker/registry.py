"""Model Registry: versions of the model package group, approvals, and metrics read from S3."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from ml.clock import Clock
from ml.drift import stored
from ml.evidence import report as evidence_report
from ml.lifecycle import from_shape
from ml.platform import ApprovalStatus, InvalidRequest, LifeCycle, ModelPackage
from ml.sagemaker.clients import AwsClients, AwsPart
from ml.sagemaker.errors import aws_errors, translate_error
from ml.sagemaker.storage import classification_metrics, read_object, split_s3_uri

logger = logging.getLogger(__name__)

#: Step outputs of one pipeline run, below its ``<bucket>/<pipeline>/<execution>`` (``ml.pipeline.graph``).
EVALUATION_SUFFIX = "/EvaluateModel/evaluation/evaluation.json"
BASELINE_SUFFIX = f"/PreprocessData/baseline/{stored.BASELINE_FILE}"
STATISTICS_SUFFIX = "/PreprocessData/baseline/statistics.json"

#: Metrics read from evaluation.json's ``classification_metrics``.
METRIC_NAMES = ("accuracy", "precision", "recall", "f1", "auc")


@dataclass
class CachedPackage:
    fetched_at: float
    approval_status: str
    package: ModelPackage


class PackageFacts(Protocol):
    """Described versions kept beyond the process (the bot's store), so a new process lists without
    describing every version again. A failure here is logged and costs only the describes it saved."""

    def remember_package(self, package: ModelPackage) -> None: ...

    def known_packages(self, group: str, limit: int | None) -> list[ModelPackage]:
        """The newest ``limit`` versions of ``group`` remembered (all with None)."""
        ...


def still_current(package: ModelPackage, summary: Mapping[str, Any]) -> bool:
    """Whether facts described earlier still hold for a listed version: same package, approval and stage.

    The listing carries approval and stage, the only facts of a version that change in place (its
    metrics, artifact and lineage are written once); an approval description or who changed it is
    refreshed whenever the version is described again, as a state-change event makes the bot do.
    """
    if package.arn != summary.get("ModelPackageArn"):
        return False
    if package.approval_status.value != summary.get("ModelApprovalStatus"):
        return False
    listed = from_shape(summary.get("ModelLifeCycle"))
    if listed is None:
        return package.life_cycle is None
    return listed.same_stage(package.life_cycle)


def check_version(version: int) -> None:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidRequest(f"Model versions are positive integers, not {version!r}")


def user_name(context: object) -> str:
    """A SageMaker UserContext as one name: the Studio user profile, else the IAM identity's ARN."""
    if not isinstance(context, Mapping):
        return ""
    identity = context.get("IamIdentity")
    arn = identity.get("Arn") if isinstance(identity, Mapping) else None
    return str(context.get("UserProfileName") or arn or context.get("UserProfileArn") or "")[:300]


def describe_package(sagemaker: Any, arn: str) -> dict[str, Any]:
    """DescribeModelPackage of one version (botocore errors pass through)."""
    return dict(sagemaker.describe_model_package(ModelPackageName=arn))


def metrics_uri(package: Mapping[str, Any]) -> str | None:
    """Where a described package's evaluation report (its model quality statistics) is."""
    statistics = ((package.get("ModelMetrics") or {}).get("ModelQuality") or {}).get("Statistics") or {}
    uri = statistics.get("S3Uri")
    return str(uri) if uri else None


class Registry(AwsPart):
    """The versions of ``config.model_package_group``, cached while their approval is unchanged."""

    def __init__(self, aws: AwsClients, clock: Clock, facts: PackageFacts | None = None) -> None:
        super().__init__(aws, clock)
        self.group = aws.config.model_package_group
        self.facts = facts
        # evaluation.json files are immutable once written: cache them for the process's life.
        self.metrics_cache: dict[str, dict[str, float]] = {}
        self.package_cache: dict[str, CachedPackage] = {}
        self.evidence_cache: dict[str, dict[str, Any] | None] = {}

    def package_arn(self, version: int) -> str:
        # SageMaker lower-cases the group name in model package ARNs.
        return f"{self._aws.arn_prefix()}:model-package/{self.group.lower()}/{version}"

    def summaries(self, limit: int | None = None) -> list[dict[str, Any]]:
        """ListModelPackages of the group, newest first (only the newest ``limit`` when given)."""
        summaries: list[dict[str, Any]] = []
        paginator = self._aws.sagemaker.get_paginator("list_model_packages")
        for page in paginator.paginate(
            ModelPackageGroupName=self.group,
            ModelPackageType="Versioned",
            SortBy="CreationTime",
            SortOrder="Descending",
            PaginationConfig={"PageSize": min(100, limit or 100)},
        ):
            summaries.extend(page.get("ModelPackageSummaryList", []))
            if limit is not None and len(summaries) >= limit:
                return summaries[:limit]
        return summaries

    def list(self, limit: int | None = None) -> list[ModelPackage]:
        """Versions of the group, newest first; only those neither cached nor remembered are described.

        With ``limit`` only the newest ``limit`` are listed, which is what ``/mlops status`` shows: a
        group with hundreds of versions costs a handful of calls. Remembered facts are read while the
        listing runs, and used for a version whose approval and stage the listing confirms.
        """
        pool = self._aws.executor()
        known = pool.submit(self._known, limit) if self.facts is not None else None
        with aws_errors(f"model package group '{self.group}'"):
            summaries = self.summaries(limit)
            remembered = known.result() if known is not None else {}
            now = self._clock.monotonic()
            futures: list[ModelPackage | Future[ModelPackage]] = []
            for summary in summaries:
                arn = str(summary["ModelPackageArn"])
                cached = self.package_cache.get(arn)
                stored = remembered.get(arn)
                if (
                    cached is not None
                    and cached.approval_status == summary.get("ModelApprovalStatus")
                    and now - cached.fetched_at < self.config.package_cache_ttl_seconds
                ):
                    futures.append(cached.package)
                elif stored is not None and still_current(stored, summary):
                    futures.append(stored)
                else:
                    futures.append(pool.submit(self.fetch, arn))
            packages = [f if isinstance(f, ModelPackage) else f.result() for f in futures]
        packages.sort(key=lambda p: p.version, reverse=True)
        return packages

    def _known(self, limit: int | None) -> dict[str, ModelPackage]:
        assert self.facts is not None
        try:
            return {p.arn: p for p in self.facts.known_packages(self.group, limit)}
        except Exception as exc:  # any store's failure: the versions are described instead
            logger.warning("Could not read remembered versions, describing them: %s", exc, exc_info=True)
            return {}

    def describe(self, version: int) -> ModelPackage:
        check_version(version)
        with aws_errors(f"model version {version} in group '{self.group}'"):
            return self.fetch(self.package_arn(version))

    def describe_raw(self, version: int) -> dict[str, Any]:
        """DescribeModelPackage of ``version``, uncached, as AWS answered it."""
        check_version(version)
        with aws_errors(f"model version {version} in group '{self.group}'"):
            return describe_package(self._aws.sagemaker, self.package_arn(version))

    def fetch(self, arn: str) -> ModelPackage:
        """Describe one version (botocore errors pass through) and cache it."""
        data = describe_package(self._aws.sagemaker, arn)
        package = self._package(data)
        self.package_cache[arn] = CachedPackage(
            self._clock.monotonic(), str(data.get("ModelApprovalStatus")), package
        )
        statistics = metrics_uri(data)
        # Metrics that could not be read now are not remembered: the next describe tries again.
        if self.facts is not None and (statistics is None or statistics in self.metrics_cache):
            try:
                self.facts.remember_package(package)
            except Exception as exc:  # any store's failure: only the next listing's saving is lost
                logger.warning("Could not remember model version %s: %s", package.version, exc, exc_info=True)
        return package

    def _package(self, data: Mapping[str, Any]) -> ModelPackage:
        lineage = {str(k): str(v) for k, v in (data.get("CustomerMetadataProperties") or {}).items()}
        containers = (data.get("InferenceSpecification") or {}).get("Containers") or [{}]
        statistics = metrics_uri(data)
        return ModelPackage(
            version=int(data["ModelPackageVersion"]),
            arn=str(data["ModelPackageArn"]),
            group=str(data.get("ModelPackageGroupName") or self.group),
            approval_status=ApprovalStatus(str(data.get("ModelApprovalStatus") or ApprovalStatus.PENDING)),
            created_at=data["CreationTime"],
            approval_description=data.get("ApprovalDescription") or None,
            modified_by=user_name(data.get("LastModifiedBy")),
            metrics=self._metrics(str(statistics)) if statistics else {},
            artifact_uri=str(containers[0].get("ModelDataUrl") or ""),
            artifact_sha256=lineage.get("artifact_sha256", ""),
            lineage=lineage,
            life_cycle=from_shape(data.get("ModelLifeCycle")),
        )

    def _metrics(self, uri: str) -> dict[str, float]:
        cached = self.metrics_cache.get(uri)
        if cached is not None:
            return cached
        try:
            split_s3_uri(uri)
        except ValueError:
            logger.warning("Ignoring model metrics at %r: not an s3://bucket/key URI", uri)
            return {}
        try:
            report = json.loads(read_object(self._aws.client("s3"), uri))
        except (ClientError, BotoCoreError) as exc:
            # The version itself is still listed; a missing report only hides its numbers.
            logger.warning("Could not read model metrics: %s", translate_error(exc, uri))
            return {}
        except ValueError:
            logger.warning("Model metrics at %s are not valid JSON", uri)
            return {}
        try:
            metrics = classification_metrics(report, METRIC_NAMES)
        except ValueError:
            metrics = {}
        self.metrics_cache[uri] = metrics
        return metrics

    def baseline(self, version: int) -> dict[str, Any] | None:
        """The drift baseline the pipeline run wrote for ``version``, or None when there is none.

        The package records only its evaluation report (ModelQuality statistics), at
        ``s3://<bucket>/<pipeline>/<execution>/EvaluateModel/evaluation/evaluation.json``; the same run's
        preprocess step wrote ``.../PreprocessData/baseline/drift.json`` (``ml.pipeline.graph`` puts each
        step output at ``<execution>/<step>/<output>``). A run whose preprocess step could not import
        ``ml.drift`` (code uploaded before ``upload-code`` shipped it under ``deps/``) wrote none: None.
        """
        check_version(version)
        with aws_errors(f"model version {version} in group '{self.group}'"):
            evaluation_uri = metrics_uri(describe_package(self._aws.sagemaker, self.package_arn(version)))
        if not evaluation_uri or not evaluation_uri.endswith(EVALUATION_SUFFIX):
            return None
        drift_uri = evaluation_uri[: -len(EVALUATION_SUFFIX)] + BASELINE_SUFFIX
        s3 = self._aws.client("s3")
        try:
            drift = read_object(s3, drift_uri)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NoSuchBucket"):
                return None
            raise translate_error(exc, drift_uri) from exc
        with aws_errors(evaluation_uri):
            evaluation = read_object(s3, evaluation_uri)
        return stored.join(drift, evaluation)

    def evaluation(self, version: int) -> dict[str, Any] | None:
        """The version's evaluation report with the data facts of its run's ``statistics.json``.

        Both are written once per run: kept for the process's life, as the metrics are.
        """
        check_version(version)
        with aws_errors(f"model version {version} in group '{self.group}'"):
            uri = metrics_uri(describe_package(self._aws.sagemaker, self.package_arn(version)))
        if not uri:
            return None
        if uri in self.evidence_cache:
            return self.evidence_cache[uri]
        s3 = self._aws.client("s3")
        with aws_errors(uri):
            evaluation = read_object(s3, uri)
        statistics: bytes | None = None
        if uri.endswith(EVALUATION_SUFFIX):
            statistics_uri = uri[: -len(EVALUATION_SUFFIX)] + STATISTICS_SUFFIX
            try:
                statistics = read_object(s3, statistics_uri)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404", "NoSuchBucket"):
                    raise translate_error(exc, statistics_uri) from exc
        joined = evidence_report.join(evaluation, statistics)
        self.evidence_cache[uri] = joined
        return joined

    def update_approval(self, version: int, status: ApprovalStatus, description: str) -> ModelPackage:
        check_version(version)
        status = ApprovalStatus(status)
        arn = self.package_arn(version)
        sagemaker = self._aws.sagemaker
        with aws_errors(f"model version {version} in group '{self.group}'"):
            current = describe_package(sagemaker, arn)
            request: dict[str, Any] = {
                "ModelPackageArn": arn,
                "ModelApprovalStatus": status.value,
                "ApprovalDescription": description[:1024],
            }
            # Re-sent every time: the lineage must survive the update whatever the service does.
            lineage = current.get("CustomerMetadataProperties") or {}
            if lineage:
                request["CustomerMetadataProperties"] = dict(lineage)
            sagemaker.update_model_package(**request)
            return self.fetch(arn)

    def update_life_cycle(self, version: int, life_cycle: LifeCycle) -> ModelPackage:
        """UpdateModelPackage with ``ModelLifeCycle`` only: the approval stays as it is."""
        check_version(version)
        arn = self.package_arn(version)
        sagemaker = self._aws.sagemaker
        with aws_errors(f"model version {version} in group '{self.group}'"):
            current = describe_package(sagemaker, arn)
            request: dict[str, Any] = {"ModelPackageArn": arn, "ModelLifeCycle": life_cycle.request()}
            lineage = current.get("CustomerMetadataProperties") or {}
            if lineage:
                request["CustomerMetadataProperties"] = dict(lineage)
            sagemaker.update_model_package(**request)
            return self.fetch(arn)
