"""``POST /ci/report``: CI jobs, authenticated by their OIDC token, report staging validations and runs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from bot.core.models import Outcome
from bot.ingest import ci, dedupe
from bot.notify import Notifier
from bot.services import Services
from handlers.render.run_message import run_key
from ml.platform import PlatformError

from . import render
from .common import answer, body_or_refusal, unauthorized

log = logging.getLogger(__name__)


def ci_endpoint(
    services: Services, notifier: Notifier, verifier: ci.OIDCVerifier | None
) -> Callable[[Request], Awaitable[Response]]:
    lock = threading.Lock()
    holder: list[ci.OIDCVerifier] = [verifier] if verifier is not None else []

    def get_verifier() -> ci.OIDCVerifier:
        with lock:  # built on first use: the JWKS client is not needed by runtimes without CI
            if not holder:
                holder.append(ci.OIDCVerifier.from_settings(services.settings))
            return holder[0]

    def act(identity: ci.CIIdentity, report: ci.StagingValidation | ci.PipelineResult, key: str) -> Response:
        with dedupe.claim(services.store, key) as first:
            if not first:
                return answer(200, duplicate=True)
            if isinstance(report, ci.PipelineResult):
                msg = render.pipeline_result(report, identity)
                notifier.reply(run_key(report.execution_arn), msg.text, msg.blocks)
                return answer(200, result="pipeline_result")
            serving = services.release.serving("staging")
            if serving != report.version:
                dedupe.release(services.store, key)
                now = f"v{serving}" if serving is not None else "no model"
                return answer(
                    409,
                    error=f"staging serves {now}, not v{report.version}: the report cannot be for it",
                )
            result = services.release.record_validation(
                identity.as_actor(),
                report.version,
                "staging",
                report.passed,
                report.report,
                source=f"ci:{identity.repository}@{report.run_url or identity.run_id or 'unknown run'}",
            )
            if result.outcome is not Outcome.DONE:
                dedupe.release(services.store, key)
                return answer(409, error=result.message, outcome=result.outcome.value)
            return answer(200, result="staging_validation", message=result.message)

    async def endpoint(request: Request) -> Response:
        token = ci.bearer_token(request.headers.get("authorization"))
        if token is None:
            return unauthorized("missing bearer token")
        try:
            identity = await run_in_threadpool(get_verifier().verify, token)
        except ci.AuthError as exc:
            log.warning("refused a CI report: %s", exc)
            return unauthorized(str(exc))
        except ci.VerifierUnavailable as exc:
            log.error("cannot verify CI tokens: %s", exc)
            return answer(503, error="cannot verify tokens right now; retry")
        body = await body_or_refusal(request, services)
        if isinstance(body, Response):
            return body
        try:
            report = ci.parse_report(body)
        except ci.ReportError as exc:
            return answer(400, error=str(exc))
        # One token per job run: its jti makes a retried POST act once.
        key = f"ci:{identity.jti}" if identity.jti else f"ci:{dedupe.digest(token, body)}"
        try:
            return await run_in_threadpool(act, identity, report, key)
        except PlatformError as exc:
            return answer(502, error=f"the ML platform failed: {exc}")
        except Exception:
            log.exception("CI report from %s failed", identity.repository)
            return answer(500, error="processing failed; retry")

    return endpoint
