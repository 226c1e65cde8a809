"""The scheduled drift check on AWS Lambda (``runtimes.lambda_drift.handler``), run by EventBridge Scheduler.

Each invocation runs one round of ``DriftWatch.check_now`` for production: the drift card in the
channel is posted, updated or settled as on the container's timer, and the PSI of every feature and
of the score goes to stdout as embedded-metric-format lines (``mlops/DriftPSI``). Queued Slack
messages are sent before it returns. numpy, pandas and pyarrow come from the AWS SDK for pandas
layer (infra/template.yaml).

A failure raises, so Lambda's asynchronous retries and dead-letter queue act; a check that cannot
run (nothing served, no baseline, no traffic) is no failure: its status is ``unavailable``.
Settings, secrets, services and notifier are built once per cold start, as the bot's function does.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from slack_sdk import WebClient

from bot.notify import Notifier
from bot.services import Services, build_services
from bot.settings import Settings
from handlers.drift_watch import DriftWatch
from runtimes.drift_publish import emf_publisher
from runtimes.lambda_runtime import (
    InstanceRuntime,
    flush_notifier,
    lambda_notifier,
    lambda_settings,
    slack_client,
)

log = logging.getLogger(__name__)

__all__ = ["DriftRuntime", "build_drift_runtime", "handler", "runtime", "set_runtime"]

#: DriftWatch's timer interval, unused here: the schedule belongs to EventBridge Scheduler.
UNUSED_INTERVAL = timedelta(hours=1)


@dataclass
class DriftRuntime:
    """What one instance of the drift function keeps between invocations."""

    services: Services
    notifier: Notifier
    watch: DriftWatch

    def close(self) -> None:
        self.notifier.close(timeout=0)
        self.services.close()


def build_drift_runtime(
    settings: Settings | None = None,
    *,
    services: Services | None = None,
    client: WebClient | None = None,
    secrets_client: Any = None,
    out: TextIO | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> DriftRuntime:
    """Secrets, settings, services and notifier as the bot's function builds them, and the watch."""
    settings = lambda_settings(settings, secrets_client=secrets_client)
    services = services or build_services(settings)
    notifier = lambda_notifier(services, client if client is not None else slack_client(settings))
    watch = DriftWatch(services, notifier, UNUSED_INTERVAL, now=now, publish=emf_publisher(out, now))
    return DriftRuntime(services, notifier, watch)


_INSTANCE: InstanceRuntime[DriftRuntime] = InstanceRuntime(build_drift_runtime)


def runtime() -> DriftRuntime:
    """This instance's runtime, built on first use outside Lambda (on Lambda: at import)."""
    return _INSTANCE.get()


def set_runtime(value: DriftRuntime | None) -> DriftRuntime | None:
    """Install a runtime (tests, custom wiring); returns the previous one."""
    return _INSTANCE.set(value)


def handler(event: Mapping[str, Any] | None, context: Any) -> dict[str, Any]:
    """One round of the check; ``{"checked_at": ..., "environments": {"production": "drift"}}``."""
    rt = runtime()
    try:
        found = rt.watch.check_now()
    finally:
        flush_notifier(rt.notifier, context)
    checked_at = rt.watch.now().isoformat()
    log.info("scheduled drift check: %s", ", ".join(f"{env} {status}" for env, status in found.items()))
    return {"checked_at": checked_at, "environments": dict(found)}


# Cold start: built during the init phase, not inside the first invocation.
if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") and not os.environ.get("MLOPS_LAMBDA_LAZY_INIT"):
    set_runtime(build_drift_runtime())
    log.info("mlops-bot drift runtime ready")
