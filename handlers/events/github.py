"""``POST /github/webhook``: signed GitHub deliveries to one Slack message per workflow run.

The signature is checked before the body is parsed; a delivery is claimed once by its id; a run's
message moves only forward (an older, late delivery never overwrites a newer state).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from bot.ingest import dedupe, github
from bot.notify import Notifier
from bot.services import Services

from . import render
from .common import answer, body_or_refusal, unauthorized

log = logging.getLogger(__name__)

NS_GH_STATE = "gh_state"
STATE_TTL_SECONDS = 30 * 24 * 3600
#: Order of deployment states; success/failure/error rank 2, and a later "inactive" supersedes them.
_DEPLOY_RANK: Mapping[str, int] = {"pending": 0, "queued": 0, "waiting": 0, "in_progress": 1, "inactive": 3}


class GitHubAnnouncer:
    """One Slack message per workflow run, updated in place; failures of its jobs in its thread."""

    def __init__(self, services: Services, notifier: Notifier) -> None:
        self.services = services
        self.notifier = notifier
        settings = services.settings
        self.filter = github.GitHubFilter.create(settings.github_repositories, settings.github_workflows)
        self._warned = threading.Event()

    @staticmethod
    def run_key(repository: str, run_id: int) -> str:
        return f"gh:{repository.lower()}:{run_id}"

    def handle(self, event: github.GitHubEvent) -> str:
        if not self.filter.repositories:
            if not self._warned.is_set():
                self._warned.set()
                log.warning("GITHUB_REPOSITORIES is empty: GitHub webhooks are accepted but not announced")
            return "not_configured"
        if isinstance(event, github.WorkflowRun):
            return self._run(event) if self.filter.allows(event) else "filtered"
        if isinstance(event, github.JobFailure):
            # Known from our own state, not from Slack: the run message may still be queued.
            announced = event.run_id is not None and (
                self.services.store.get(NS_GH_STATE, self.run_key(event.repository, event.run_id)) is not None
            )
            return self._job(event) if self.filter.allows(event, announced) else "filtered"
        if isinstance(event, github.DeploymentStatus):
            return self._deployment(event) if self.filter.allows(event) else "filtered"
        return "ignored"

    def _advance(self, key: str, rank: list[int]) -> tuple[bool, dict[str, Any] | None]:
        """Record ``rank`` for ``key`` unless an equal or later state is already recorded."""
        store = self.services.store
        new = {"rank": rank}
        for _ in range(10):
            current = store.get(NS_GH_STATE, key)
            if current is None:
                if store.put_if_absent(NS_GH_STATE, key, new, STATE_TTL_SECONDS):
                    return True, None
                continue
            if list(current.get("rank", [])) >= rank:
                return False, current
            if store.replace_if(NS_GH_STATE, key, current, new):
                return True, current
        return False, None

    def _undo(self, key: str, rank: list[int], previous: dict[str, Any] | None) -> None:
        store = self.services.store
        if previous is None:
            store.delete(NS_GH_STATE, key)
        else:
            store.replace_if(NS_GH_STATE, key, {"rank": rank}, previous)

    def _upsert_in_order(
        self, key: str, rank: list[int], msg: render.Message, thread_key: str | None = None
    ) -> bool:
        advanced, previous = self._advance(key, rank)
        if not advanced:
            return False  # a later state already shows: an older delivery must not overwrite it
        try:
            self.notifier.upsert(key, msg.text, msg.blocks, thread_key=thread_key)
        except BaseException:
            self._undo(key, rank, previous)
            raise
        return True

    def _run(self, run: github.WorkflowRun) -> str:
        key = self.run_key(run.repository, run.run_id)
        shown = self._upsert_in_order(key, [run.attempt, run.phase], render.workflow_run(run))
        return f"run_{run.status}" if shown else "stale"

    def _job(self, job: github.JobFailure) -> str:
        # Actions reports a failed job twice (workflow_job and check_run, same id): say it once.
        with dedupe.claim(self.services.store, f"ghjob:{job.repository.lower()}:{job.job_id}") as first:
            if not first:
                return "duplicate"
            thread = (
                self.run_key(job.repository, job.run_id)
                if job.run_id is not None
                else f"gh:{job.repository.lower()}:check:{job.job_id}"
            )
            msg = render.job_failure(job)
            self.notifier.reply(thread, msg.text, msg.blocks)
        return f"{job.source}_failure"

    def _deployment(self, status: github.DeploymentStatus) -> str:
        key = f"gh:{status.repository.lower()}:deployment:{status.deployment_id}"
        thread = self.run_key(status.repository, status.run_id) if status.run_id is not None else None
        rank = [_DEPLOY_RANK.get(status.state, 2)]
        shown = self._upsert_in_order(key, rank, render.deployment_status(status), thread_key=thread)
        return f"deployment_{status.state}" if shown else "stale"


def github_endpoint(services: Services, notifier: Notifier) -> Callable[[Request], Awaitable[Response]]:
    announcer = GitHubAnnouncer(services, notifier)

    async def endpoint(request: Request) -> Response:
        secret = services.settings.github_webhook_secret
        if secret is None or not secret.get_secret_value():
            return unauthorized("GITHUB_WEBHOOK_SECRET is not configured")
        body = await body_or_refusal(request, services)
        if isinstance(body, Response):
            return body
        signature = request.headers.get(github.SIGNATURE_HEADER)
        if not github.verify_signature(secret.get_secret_value(), body, signature):
            return unauthorized(f"missing or wrong {github.SIGNATURE_HEADER}")
        name = request.headers.get(github.EVENT_HEADER)
        if not name:
            return answer(400, error=f"missing {github.EVENT_HEADER} header")
        try:
            payload = json.loads(body)
            event = github.parse_event(name, payload)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return answer(400, error=f"body is not JSON: {exc}")
        except RecursionError:
            return answer(400, error="body is nested too deeply")
        except github.WebhookError as exc:
            return answer(400, error=f"{name} payload: {exc}")
        if event is None:
            log.debug("ignoring GitHub %s event", name)
            return answer(200, ignored=name)
        if isinstance(event, github.Ping):
            return answer(200, zen=event.zen, hook_id=event.hook_id)
        delivery = request.headers.get(github.DELIVERY_HEADER) or dedupe.digest(name, body)

        def work() -> str:
            with dedupe.claim(services.store, f"gh:{delivery}") as first:
                return announcer.handle(event) if first else "duplicate"

        try:
            result = await run_in_threadpool(work)
        except Exception:
            log.exception("GitHub delivery %s failed", delivery)
            return answer(500, error="processing failed; redeliver")
        return answer(200, result=result)

    return endpoint
