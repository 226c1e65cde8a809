"""Names, tags and ARNs the SageMaker platform gives to (and reads back from) AWS resources.

Endpoint configs and models are named ``<endpoint>-v<version>-<UTC yyyymmddHHMMSS>`` so the
version an endpoint serves, and the configs a rollback may return to, are known from names alone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

TAG_PREFIX = "mlops:"
TAG_VERSION = "mlops:model-version"
TAG_ENVIRONMENT = "mlops:environment"
TAG_ENDPOINT = "mlops:endpoint"
TAG_DEPLOYED_BY = "mlops:deployed-by"
TAG_SERVED_AT = "mlops:served-at"
TAG_ROLLBACK_AT = "mlops:last-rollback-at"
TAG_ROLLBACK_BY = "mlops:last-rollback-by"
#: on a config holding a warm standby: when that standby is retired
TAG_WARM_UNTIL = "mlops:warm-until"
TAG_REQUESTED_BY = "requested-by"
TAG_GIT_SHA = "git-sha"

_STAMP_FORMAT = "%Y%m%d%H%M%S"
# Tag values allow letters, digits, spaces and _.:/=+-@ only.
_TAG_UNSAFE = re.compile(r"[^\w .:/=+\-@]", re.UNICODE)
_DISPLAY_UNSAFE = re.compile(r"[^a-zA-Z0-9]+")
_CI_REPOSITORY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}")


def config_name(endpoint: str, version: int, at: datetime) -> str:
    """Name shared by the endpoint config and its model (63 characters at most)."""
    return f"{endpoint}-v{version}-{at.astimezone(UTC).strftime(_STAMP_FORMAT)}"


def config_prefix(endpoint: str, version: int | None = None) -> str:
    return f"{endpoint}-v{version}-" if version is not None else f"{endpoint}-v"


def parse_config_name(endpoint: str, name: str) -> tuple[int, datetime] | None:
    """(version, creation stamp) of a config this platform named for ``endpoint``, else None."""
    match = re.fullmatch(re.escape(endpoint) + r"-v(\d+)-(\d{14})", name)
    if match is None:
        return None
    stamp = datetime.strptime(match.group(2), _STAMP_FORMAT).replace(tzinfo=UTC)
    return int(match.group(1)), stamp


def tag_value(value: str) -> str:
    return _TAG_UNSAFE.sub("_", value)[:256]


def tags(pairs: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": tag_value(value)} for key, value in pairs.items()]


def tag_map(tag_list: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """Tags as a dict; a repeated key keeps its last value, as an overwrite would."""
    return {str(tag["Key"]): str(tag.get("Value", "")) for tag in tag_list}


def display_name(requested_by: str, at: datetime) -> str:
    """PipelineExecutionDisplayName: letters, digits and hyphens, 82 characters at most."""
    who = _DISPLAY_UNSAFE.sub("-", requested_by).strip("-")[:40] or "bot"
    return f"{who}-{at.astimezone(UTC).strftime(_STAMP_FORMAT)}"


def execution_description(requested_by: str, git_sha: str | None, ci_run: CIRun | None = None) -> str:
    data: dict[str, str | None] = {"requested_by": requested_by, "git_sha": git_sha}
    if ci_run is not None:
        data.update(ci_repository=ci_run.repository, ci_run=ci_run.run_id)
    return json.dumps(data, sort_keys=True)


@dataclass(frozen=True)
class CIRun:
    """The GitHub Actions run that started an execution: ``owner/repo`` and the run id."""

    repository: str
    run_id: str

    @classmethod
    def of(cls, repository: str | None, run_id: str | None) -> CIRun | None:
        """Both parts, checked, or None: an execution started outside CI names no run."""
        if not repository or not run_id:
            return None
        if not _CI_REPOSITORY.fullmatch(repository) or not run_id.isdigit() or len(run_id) > 20:
            raise ValueError(f"not a GitHub repository and run id: {repository!r} {run_id!r}")
        return cls(repository, run_id)


def execution_origin(description: str | None) -> dict[str, str]:
    """Where a run comes from beyond who and which commit: the CI run that started it, if any."""
    try:
        data = json.loads(description or "")
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    try:
        run = CIRun.of(_text(data.get("ci_repository")), _text(data.get("ci_run")))
    except ValueError:
        return {}
    return {"ci_repository": run.repository, "ci_run": run.run_id} if run else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def parse_execution_description(description: str | None) -> tuple[str, str | None]:
    """(requested_by, git_sha) from a description this platform wrote; ("", None) otherwise."""
    if not description:
        return "", None
    try:
        data = json.loads(description)
    except ValueError:
        return "", None
    if not isinstance(data, dict):
        return "", None
    sha = data.get("git_sha")
    return str(data.get("requested_by") or ""), str(sha) if sha else None


def execution_id(execution_arn: str) -> str:
    return execution_arn.rsplit("/", 1)[-1]


def version_from_package_arn(arn: str) -> int | None:
    tail = arn.rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
