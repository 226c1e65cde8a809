"""Addresses messages link to, built only from checked parts: never a URL taken from outside as is.

* AWS console pages from ARNs: the ARN is parsed (partition, service, region, account, resource) and
  refused unless it names the expected service and resource type; every part is URL-encoded.
  Console hosts are ``https://<region>.console.aws.amazon.com`` (the ``aws`` partition). The China and
  GovCloud partitions have consoles on other hosts with other rules; they get no links (``LinkError``).
* GitHub Actions runs from an ``owner/repo`` and a run id, on ``https://github.com`` only.
* Local log files as a path relative to the platform's home, never a host path.

Each builder raises ``LinkError`` on anything it does not accept; renderers leave such links out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import quote

__all__ = [
    "Arn",
    "LinkError",
    "actions_run_url",
    "endpoint_logs_url",
    "endpoint_url",
    "home_relative",
    "log_group_url",
    "model_registry_url",
    "parse_arn",
    "training_job_logs_url",
    "training_job_url",
]

CONSOLE_PARTITION = "aws"
GITHUB = "https://github.com"

_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
_ACCOUNT = re.compile(r"\d{12}")
#: SageMaker's resource names (botocore's EntityName, EndpointName, TrainingJobName)
_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
_VERSION = re.compile(r"[1-9]\d{0,8}")
_OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
_REPO = re.compile(r"[A-Za-z0-9._-]{1,100}")
_RUN_ID = re.compile(r"[1-9]\d{0,19}")
_LOG_PART = re.compile(r"[A-Za-z0-9._-]{1,200}")


class LinkError(ValueError):
    """A part that a link may not be built from; the message says which and why."""


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource_type: str
    resource: str

    @property
    def console(self) -> str:
        return f"https://{self.region}.console.aws.amazon.com"


def parse_arn(value: object, service: str, resource_type: str) -> Arn:
    """``arn:aws:<service>:<region>:<account>:<resource_type>/<resource>``, checked part by part."""
    if not isinstance(value, str) or len(value) > 2048:
        raise LinkError("not an ARN")
    parts = value.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise LinkError(f"not an ARN: {value[:80]!r}")
    _, partition, svc, region, account, rest = parts
    if partition != CONSOLE_PARTITION:
        raise LinkError(
            f"console links are built for the {CONSOLE_PARTITION!r} partition only, not {partition!r}"
        )
    if svc != service:
        raise LinkError(f"not a {service} ARN: service {svc!r}")
    if not _REGION.fullmatch(region):
        raise LinkError(f"not an AWS region: {region!r}")
    if not _ACCOUNT.fullmatch(account):
        raise LinkError(f"not an AWS account id: {account!r}")
    kind, slash, resource = rest.partition("/")
    if kind != resource_type or not slash or not resource:
        raise LinkError(f"not a {resource_type} ARN: {rest[:80]!r}")
    return Arn(partition, svc, region, account, kind, resource)


def _name(value: str, what: str) -> str:
    if not _NAME.fullmatch(value):
        raise LinkError(f"not a SageMaker {what} name: {value[:80]!r}")
    return value


def _sagemaker(arn: Arn, fragment: str) -> str:
    region = quote(arn.region, safe="")
    return f"{arn.console}/sagemaker/home?region={region}#/{fragment}"


def _cloudwatch(arn: Arn, fragment: str) -> str:
    region = quote(arn.region, safe="")
    return f"{arn.console}/cloudwatch/home?region={region}#{fragment}"


def _console_escape(text: str) -> str:
    """CloudWatch's fragment encoding: URL-encode twice and write ``%`` as ``$`` (``/`` is ``$252F``)."""
    return quote(quote(text, safe=""), safe="").replace("%", "$")


def endpoint_url(region_of: str, name: str) -> str:
    """The endpoint's console page, in the account and region of ``region_of`` (any SageMaker ARN)."""
    arn = _any_sagemaker(region_of)
    return _sagemaker(arn, f"endpoints/{quote(_name(name, 'endpoint'), safe='')}")


def log_group_url(region_of: Arn, group: str, stream_prefix: str = "") -> str:
    """A CloudWatch Logs log group's console page, optionally filtered to streams with a prefix."""
    fragment = f"logsV2:log-groups/log-group/{_console_escape(group)}"
    if stream_prefix:
        # The query inside the fragment is encoded once ("?" is $3F), the value like the group.
        fragment += "$3FlogStreamNameFilter$3D" + _console_escape(stream_prefix)
    return _cloudwatch(region_of, fragment)


def endpoint_logs_url(region_of: str, name: str) -> str:
    """The endpoint's log group, ``/aws/sagemaker/Endpoints/<name>``."""
    arn = _any_sagemaker(region_of)
    return log_group_url(arn, f"/aws/sagemaker/Endpoints/{_name(name, 'endpoint')}")


def training_job_url(training_job_arn: str) -> str:
    arn = parse_arn(training_job_arn, "sagemaker", "training-job")
    return _sagemaker(arn, f"jobs/{quote(_name(arn.resource, 'training job'), safe='')}")


def training_job_logs_url(training_job_arn: str) -> str:
    """The training log streams, ``/aws/sagemaker/TrainingJobs`` filtered to ``<job name>/``."""
    arn = parse_arn(training_job_arn, "sagemaker", "training-job")
    name = _name(arn.resource, "training job")
    return log_group_url(arn, "/aws/sagemaker/TrainingJobs", f"{name}/")


def model_registry_url(model_package_arn: str, group: str) -> str:
    """The model group's page in the registry, for a versioned package ARN (``<group>/<version>``).

    ARNs spell names in lower case; ``group`` is the name as created, which the page is named by.
    """
    arn = parse_arn(model_package_arn, "sagemaker", "model-package")
    in_arn, slash, version = arn.resource.partition("/")
    if not slash or not _VERSION.fullmatch(version) or in_arn != group.lower():
        raise LinkError(f"not a version of model group {group[:80]!r}: {arn.resource[:80]!r}")
    return _sagemaker(arn, f"model-registry/{quote(_name(group, 'model group'), safe='')}/details")


def _any_sagemaker(value: str) -> Arn:
    """Any SageMaker ARN, for the partition, region and account a sibling resource lives in."""
    if not isinstance(value, str) or value.count(":") < 5:
        raise LinkError("not an ARN")
    kind = value.split(":", 5)[5].partition("/")[0]
    return parse_arn(value, "sagemaker", kind)


def actions_run_url(repository: object, run_id: object) -> str:
    """``https://github.com/<owner>/<repo>/actions/runs/<id>`` from checked parts only."""
    if not isinstance(repository, str) or repository.count("/") != 1:
        raise LinkError("the repository must be owner/name")
    owner, repo = repository.split("/")
    if not _OWNER.fullmatch(owner) or not _REPO.fullmatch(repo) or repo in (".", ".."):
        raise LinkError(f"not a GitHub repository: {repository[:80]!r}")
    run = str(run_id) if isinstance(run_id, int) and not isinstance(run_id, bool) else run_id
    if not isinstance(run, str) or not _RUN_ID.fullmatch(run):
        raise LinkError(f"not a workflow run id: {str(run_id)[:40]!r}")
    return f"{GITHUB}/{quote(owner, safe='')}/{quote(repo, safe='')}/actions/runs/{run}"


def home_relative(path: object) -> str:
    """A log file's path relative to the platform home, as recorded: refused if it could leave it."""
    if not isinstance(path, str) or not path or "\\" in path:
        raise LinkError("not a relative path")
    pure = PurePosixPath(path)
    if pure.is_absolute() or not pure.parts or not all(_LOG_PART.fullmatch(p) for p in pure.parts):
        raise LinkError(f"not a path inside the home: {path[:80]!r}")
    if any(p in (".", "..") for p in pure.parts):
        raise LinkError(f"not a path inside the home: {path[:80]!r}")
    return str(pure)
