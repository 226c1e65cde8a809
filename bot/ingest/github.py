"""GitHub webhooks: signature verification and the few events the bot announces.

The signature is checked on the raw body before anything parses it, in constant
time, and a missing secret refuses everything: an unauthenticated endpoint that
posts to Slack would let anyone write to the channel.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"

#: Conclusions that mean something broke (``cancelled``, ``skipped``, ``neutral`` do not).
FAILED_CONCLUSIONS = frozenset({"failure", "timed_out", "startup_failure"})
FAILED_DEPLOYMENT_STATES = frozenset({"failure", "error"})

_RUN_URL = re.compile(r"/actions/runs/(\d+)")


class WebhookError(ValueError):
    """A payload that does not have the shape GitHub documents for its event."""


def verify_signature(secret: str | None, body: bytes, header: str | None) -> bool:
    """True only for ``sha256=<hex HMAC-SHA256 of body>`` under a configured secret."""
    if not secret or not header:
        return False
    scheme, _, received = header.strip().partition("=")
    if scheme != "sha256" or not received or not received.isascii():  # compare_digest wants ASCII
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, received.lower())


def sign(secret: str, body: bytes) -> str:
    """The header value GitHub would send for ``body`` (for tests and local tooling)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# -- payload readers ---------------------------------------------------------------------


def _obj(payload: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = payload.get(name)
    if not isinstance(value, Mapping):
        raise WebhookError(f"payload has no {name} object")
    return value


def _opt_str(obj: Mapping[str, Any] | None, name: str) -> str | None:
    value = obj.get(name) if obj else None
    return value if isinstance(value, str) and value else None


def _req_str(obj: Mapping[str, Any], name: str, where: str) -> str:
    value = _opt_str(obj, name)
    if value is None:
        raise WebhookError(f"{where}.{name} is missing")
    return value


def _int(obj: Mapping[str, Any] | None, name: str, where: str, required: bool = True) -> int | None:
    value = obj.get(name) if obj else None
    if isinstance(value, bool):
        raise WebhookError(f"{where}.{name} must be a number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if value is None and not required:
        return None
    raise WebhookError(f"{where}.{name} must be a number, not {value!r}")


def _login(obj: Mapping[str, Any] | None, name: str) -> str | None:
    user = obj.get(name) if obj else None
    return _opt_str(user, "login") if isinstance(user, Mapping) else None


def run_id_from_url(*urls: str | None) -> int | None:
    """The workflow run id in an Actions URL (``.../actions/runs/123/job/456``)."""
    for url in urls:
        if url and (m := _RUN_URL.search(url)):
            return int(m.group(1))
    return None


# -- events --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ping:
    zen: str
    hook_id: int | None
    repository: str | None


@dataclass(frozen=True)
class WorkflowRun:
    repository: str
    run_id: int
    attempt: int
    action: str
    workflow: str
    status: str
    conclusion: str | None
    html_url: str
    run_number: int | None = None
    head_branch: str | None = None
    head_sha: str | None = None
    event: str | None = None
    actor: str | None = None
    title: str | None = None

    @property
    def failed(self) -> bool:
        return self.status == "completed" and self.conclusion in FAILED_CONCLUSIONS

    @property
    def phase(self) -> int:
        """Order of the states one run goes through; a late, older delivery must not win."""
        return {"requested": 0, "queued": 0, "waiting": 0, "pending": 0, "in_progress": 1}.get(
            self.status, 2 if self.status == "completed" else 0
        )


@dataclass(frozen=True)
class JobFailure:
    """A failed job (``workflow_job``) or check (``check_run``) of a run."""

    repository: str
    job_id: int
    name: str
    conclusion: str
    html_url: str | None
    run_id: int | None
    workflow: str | None = None
    failed_steps: tuple[str, ...] = ()
    summary: str | None = None
    source: str = "workflow_job"


@dataclass(frozen=True)
class DeploymentStatus:
    repository: str
    deployment_id: int
    state: str
    environment: str
    description: str | None = None
    target_url: str | None = None
    ref: str | None = None
    sha: str | None = None
    creator: str | None = None
    run_id: int | None = None
    workflow: str | None = None

    @property
    def failed(self) -> bool:
        return self.state in FAILED_DEPLOYMENT_STATES


GitHubEvent = Ping | WorkflowRun | JobFailure | DeploymentStatus


def _repository(payload: Mapping[str, Any]) -> str:
    return _req_str(_obj(payload, "repository"), "full_name", "repository")


def parse_event(event: str, payload: Any) -> GitHubEvent | None:
    """The event the bot announces, or None for events and actions it does not handle."""
    if not isinstance(payload, Mapping):
        raise WebhookError("payload must be a JSON object")
    action = _opt_str(payload, "action") or ""
    if event == "ping":
        repo = payload.get("repository")
        return Ping(
            zen=_opt_str(payload, "zen") or "",
            hook_id=_int(payload, "hook_id", "payload", required=False),
            repository=_opt_str(repo, "full_name") if isinstance(repo, Mapping) else None,
        )
    if event == "workflow_run":
        if action not in ("requested", "in_progress", "completed"):
            return None
        run = _obj(payload, "workflow_run")
        workflow = payload.get("workflow")
        name = _opt_str(run, "name") or (
            _opt_str(workflow, "name") if isinstance(workflow, Mapping) else None
        )
        return WorkflowRun(
            repository=_repository(payload),
            run_id=_int(run, "id", "workflow_run") or 0,
            attempt=_int(run, "run_attempt", "workflow_run", required=False) or 1,
            action=action,
            workflow=name or "workflow",
            status=_opt_str(run, "status") or action,
            conclusion=_opt_str(run, "conclusion"),
            html_url=_req_str(run, "html_url", "workflow_run"),
            run_number=_int(run, "run_number", "workflow_run", required=False),
            head_branch=_opt_str(run, "head_branch"),
            head_sha=_opt_str(run, "head_sha"),
            event=_opt_str(run, "event"),
            actor=_login(run, "triggering_actor") or _login(run, "actor"),
            title=_opt_str(run, "display_title"),
        )
    if event == "workflow_job":
        job = _obj(payload, "workflow_job")
        if action != "completed" or _opt_str(job, "conclusion") not in FAILED_CONCLUSIONS:
            return None
        steps = job.get("steps")
        failed_steps = tuple(
            str(s.get("name"))
            for s in (steps if isinstance(steps, list) else [])
            if isinstance(s, Mapping) and s.get("conclusion") in FAILED_CONCLUSIONS
        )
        return JobFailure(
            repository=_repository(payload),
            job_id=_int(job, "id", "workflow_job") or 0,
            name=_opt_str(job, "name") or "job",
            conclusion=str(job["conclusion"]),
            html_url=_opt_str(job, "html_url"),
            run_id=_int(job, "run_id", "workflow_job", required=False)
            or run_id_from_url(_opt_str(job, "run_url"), _opt_str(job, "html_url")),
            workflow=_opt_str(job, "workflow_name"),
            failed_steps=failed_steps,
        )
    if event == "check_run":
        check = _obj(payload, "check_run")
        if action != "completed" or _opt_str(check, "conclusion") not in FAILED_CONCLUSIONS:
            return None
        output = check.get("output")
        output = output if isinstance(output, Mapping) else {}
        return JobFailure(
            repository=_repository(payload),
            job_id=_int(check, "id", "check_run") or 0,
            name=_opt_str(check, "name") or "check",
            conclusion=str(check["conclusion"]),
            html_url=_opt_str(check, "html_url") or _opt_str(check, "details_url"),
            run_id=run_id_from_url(_opt_str(check, "details_url"), _opt_str(check, "html_url")),
            summary=_opt_str(output, "title") or _opt_str(output, "summary"),
            source="check_run",
        )
    if event == "deployment_status":
        status = _obj(payload, "deployment_status")
        deployment = _obj(payload, "deployment")
        run_obj = payload.get("workflow_run")
        dep_run: Mapping[str, Any] | None = run_obj if isinstance(run_obj, Mapping) else None
        return DeploymentStatus(
            repository=_repository(payload),
            deployment_id=_int(deployment, "id", "deployment") or 0,
            state=_req_str(status, "state", "deployment_status"),
            environment=_opt_str(status, "environment") or _opt_str(deployment, "environment") or "?",
            description=_opt_str(status, "description"),
            target_url=_opt_str(status, "target_url") or _opt_str(status, "log_url"),
            ref=_opt_str(deployment, "ref"),
            sha=_opt_str(deployment, "sha"),
            creator=_login(status, "creator") or _login(deployment, "creator"),
            run_id=_int(dep_run, "id", "workflow_run", required=False) if dep_run else None,
            workflow=_opt_str(dep_run, "name") if dep_run else None,
        )
    return None


@dataclass(frozen=True)
class GitHubFilter:
    """Only configured repositories (and workflows, when listed) are announced."""

    repositories: frozenset[str]
    workflows: frozenset[str]

    @classmethod
    def create(cls, repositories: Sequence[str], workflows: Sequence[str]) -> GitHubFilter:
        # GitHub treats owner/name case-insensitively; workflow names are shown as written.
        return cls(frozenset(r.lower() for r in repositories), frozenset(workflows))

    def allows(self, event: GitHubEvent, run_announced: bool = False) -> bool:
        """``run_announced``: the event belongs to a run already announced (so already allowed)."""
        if isinstance(event, Ping):
            return True
        if event.repository.lower() not in self.repositories:
            return False
        if not self.workflows:
            return True
        if event.workflow is None:
            # A check run names no workflow: it is ours only as part of a run we announced.
            return run_announced
        return event.workflow in self.workflows
