"""Fixtures for the Slack app: a fake Slack Web API, signed requests, and services.

``FakePlatform`` is an in-memory implementation of ``ml.platform.MLPlatform`` for
fast permission and parsing tests; the end-to-end tests use the real local platform.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

import handlers
from bot.app import create_app
from bot.notify import Notifier
from bot.services import Services, build_services
from bot.settings import load_settings
from bot.store.sqlite import SQLiteStore
from ml.platform import (
    ENVIRONMENTS,
    ApprovalStatus,
    Deployment,
    EndpointInfo,
    EndpointStatus,
    Environment,
    EventListener,
    Execution,
    ExecutionStatus,
    InvalidRequest,
    ModelPackage,
    NotFound,
    ParameterSpec,
)

from .fake_slack import FakeSlack

SECRET = "test-signing-secret"
CHANNEL = "C0MLOPS"

#: Slack user id -> (user name, user groups)
USERS: dict[str, tuple[str, list[str]]] = {
    "UALICE": ("alice", ["ml-team"]),
    "UBOB": ("bob", ["ml-approvers"]),
    "UCAROL": ("carol", ["ml-leads", "ml-oncall"]),
    "UDAVE": ("dave", ["ml-oncall"]),
    "UROSE": ("rose", ["ml-leads"]),
    "UERIN": ("erin", []),
}


class FakePlatform:
    """In-memory ML platform: v1 serves staging and production, v2 waits for approval."""

    name = "fake"
    model_package_group = "mlops-xgboost"
    pipeline_name = "mlops-xgboost-pipeline"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        t0 = datetime(2025, 1, 1, tzinfo=UTC)
        metrics = {"accuracy": 0.86, "precision": 0.75, "recall": 0.62, "f1": 0.68, "auc": 0.91}
        lineage = {
            "requested_by": "UALICE",
            "git_sha": "0123456789abcdef",
            "dataset_sha256": "f" * 64,
            "threshold": "0.8",
            "parameters": json.dumps({"MaxDepth": "5"}),
            "execution_id": "arn:aws:sagemaker:local:0:pipeline/p/execution/e1",
        }
        self.packages: dict[int, ModelPackage] = {
            1: ModelPackage(
                1,
                "arn:pkg/1",
                self.model_package_group,
                ApprovalStatus.APPROVED,
                t0,
                "ok",
                metrics,
                lineage=lineage,
            ),
            2: ModelPackage(
                2,
                "arn:pkg/2",
                self.model_package_group,
                ApprovalStatus.PENDING,
                t0 + timedelta(days=1),
                None,
                {**metrics, "accuracy": 0.871},
                lineage=lineage,
            ),
        }
        self.endpoints: dict[Environment, EndpointInfo] = {
            env: EndpointInfo(env, f"mlops-xgboost-{env}", EndpointStatus.IN_SERVICE, 1, t0)
            for env in ENVIRONMENTS
        }
        self.history: dict[Environment, list[Deployment]] = {
            env: [Deployment(env, 1, t0, "seed")] for env in ENVIRONMENTS
        }
        self.executions: dict[str, Execution] = {}
        self.listeners: list[EventListener] = []

    def snapshot(self) -> tuple[Any, ...]:
        with self._lock:
            return (
                tuple(sorted((v, p.approval_status) for v, p in self.packages.items())),
                tuple(sorted((e, i.version) for e, i in self.endpoints.items())),
                tuple(sorted((k, x.status) for k, x in self.executions.items())),
            )

    def pipeline_parameters(self) -> Mapping[str, ParameterSpec]:
        return {
            "max_depth": ParameterSpec("max_depth", "integer", 5, minimum=1, maximum=20, hyperparameter=True),
            "eta": ParameterSpec("eta", "float", 0.2, minimum=0.0, maximum=1.0, hyperparameter=True),
            "AccuracyThreshold": ParameterSpec("AccuracyThreshold", "float", 0.8, minimum=0, maximum=1),
        }

    def start_pipeline(
        self, parameters: Mapping[str, str], requested_by: str, git_sha: str | None = None
    ) -> Execution:
        with self._lock:
            eid = f"arn:aws:sagemaker:local:0:pipeline/p/execution/x{len(self.executions) + 1}"
            execution = Execution(
                eid, ExecutionStatus.EXECUTING, dict(parameters), requested_by, git_sha, datetime.now(UTC)
            )
            self.executions[eid] = execution
            return execution

    def describe_execution(self, execution_id: str) -> Execution:
        if execution_id not in self.executions:
            raise NotFound(f"no execution {execution_id}")
        return self.executions[execution_id]

    def list_executions(self, limit: int = 20) -> list[Execution]:
        return list(self.executions.values())[::-1][:limit]

    def stop_execution(self, execution_id: str) -> Execution:
        with self._lock:
            execution = self.describe_execution(execution_id)
            stopped = replace(execution, status=ExecutionStatus.STOPPED, ended_at=datetime.now(UTC))
            self.executions[execution_id] = stopped
            return stopped

    def list_model_packages(self, limit: int | None = None) -> list[ModelPackage]:
        return sorted(self.packages.values(), key=lambda p: -p.version)[:limit]

    def describe_model_package(self, version: int) -> ModelPackage:
        if version not in self.packages:
            raise NotFound(f"model package group has no version {version}")
        return self.packages[version]

    def update_approval(self, version: int, status: ApprovalStatus, description: str) -> ModelPackage:
        with self._lock:
            package = replace(
                self.describe_model_package(version), approval_status=status, approval_description=description
            )
            self.packages[version] = package
            return package

    def deploy(self, environment: Environment, version: int, deployed_by: str) -> EndpointInfo:
        with self._lock:
            if self.describe_model_package(version).approval_status is not ApprovalStatus.APPROVED:
                raise InvalidRequest(f"v{version} is not approved")
            info = replace(self.endpoints[environment], version=version, updated_at=datetime.now(UTC))
            self.endpoints[environment] = info
            self.history[environment].append(Deployment(environment, version, datetime.now(UTC), deployed_by))
            return info

    def rollback(self, environment: Environment, version: int, deployed_by: str) -> EndpointInfo:
        with self._lock:
            info = replace(self.endpoints[environment], version=version, updated_at=datetime.now(UTC))
            self.endpoints[environment] = info
            self.history[environment].append(
                Deployment(environment, version, datetime.now(UTC), deployed_by, "rollback")
            )
            return info

    def endpoint_name(self, environment: Environment) -> str:
        return f"mlops-xgboost-{environment}"

    def describe_endpoint(self, environment: Environment) -> EndpointInfo:
        return self.endpoints[environment]

    def endpoint_history(self, environment: Environment) -> list[Deployment]:
        return list(self.history[environment])

    def validate(self, environment: Environment) -> dict[str, Any]:
        return {
            "passed": True,
            "accuracy": 0.87,
            "p95_ms": 12.0,
            "checks": [{"name": "schema", "passed": True}],
        }

    def subscribe(self, listener: EventListener) -> None:
        self.listeners.append(listener)

    def close(self) -> None:
        return


@dataclass
class Harness:
    """A Slack app wired to the fake Slack API, plus helpers to send it signed requests."""

    app: App
    slack: FakeSlack
    services: Services

    # -- signed requests -----------------------------------------------------------------
    @staticmethod
    def headers(body: str, timestamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
        return {
            "content-type": "application/x-www-form-urlencoded",
            "x-slack-request-timestamp": ts,
            "x-slack-signature": signature,
        }

    def command_body(self, text: str, user: str = "UCAROL", trigger: str | None = None) -> str:
        return urlencode(
            {
                "command": "/mlops",
                "text": text,
                "user_id": user,
                "user_name": USERS.get(user, ("someone", []))[0],
                "team_id": "T1",
                "channel_id": CHANNEL,
                "response_url": self.slack.response_url(f"cmd-{user}"),
                "trigger_id": trigger or f"trig-{time.monotonic_ns()}",
            }
        )

    def action_body(self, action_id: str, value: str, user: str = "UCAROL", message_ts: str = "1.0") -> str:
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": USERS.get(user, ("someone", []))[0], "team_id": "T1"},
            "team": {"id": "T1"},
            "channel": {"id": CHANNEL},
            "container": {"type": "message", "message_ts": message_ts, "channel_id": CHANNEL},
            "message": {"ts": message_ts},
            "trigger_id": f"trig-{time.monotonic_ns()}",
            "response_url": self.slack.response_url(f"act-{user}"),
            "actions": [{"action_id": action_id, "block_id": "b", "value": value, "type": "button"}],
        }
        return urlencode({"payload": json.dumps(payload)})

    def view_body(self, version: Any, reason: str, user: str = "UBOB") -> str:
        payload = {
            "type": "view_submission",
            "user": {"id": user, "username": USERS.get(user, ("someone", []))[0], "team_id": "T1"},
            "team": {"id": "T1"},
            "trigger_id": f"trig-{time.monotonic_ns()}",
            "view": {
                "id": "V1",
                "type": "modal",
                "callback_id": "reject_reason",
                "private_metadata": json.dumps({"v": version, "channel": CHANNEL}),
                "state": {"values": {"reason": {"reason": {"type": "plain_text_input", "value": reason}}}},
            },
        }
        return urlencode({"payload": json.dumps(payload)})

    def dispatch(self, body: str, headers: dict[str, str] | None = None) -> BoltResponse:
        response: BoltResponse = self.app.dispatch(
            BoltRequest(body=body, headers=headers or self.headers(body))
        )
        return response

    def command(self, text: str, user: str = "UCAROL") -> BoltResponse:
        return self.dispatch(self.command_body(text, user))

    def click(self, action_id: str, value: str, user: str = "UCAROL") -> BoltResponse:
        return self.dispatch(self.action_body(action_id, value, user))

    def respond_count(self) -> int:
        return len(self.slack.responses())

    def wait_responses(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        self.slack.wait_for(lambda: self.respond_count() >= count, timeout, f"{count} responses")
        return self.slack.responses()

    def state(self) -> tuple[Any, ...]:
        """Everything a refused request must leave unchanged (the audit excepted)."""
        store = self.services.store
        kept = tuple(
            tuple(store.query(ns)) for ns in ("decision", "deployment", "validation", "inflight", "message")
        )
        platform = self.services.platform
        if isinstance(platform, FakePlatform):
            return (platform.snapshot(), kept)
        packages = tuple((p.version, p.approval_status) for p in platform.list_model_packages())
        endpoints = tuple(platform.describe_endpoint(e).version for e in ENVIRONMENTS)
        return (packages, endpoints, len(platform.list_executions(100)), kept)


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    slack = FakeSlack().start()
    for handles in USERS.values():
        for group in handles[1]:
            slack.set_group(group, [uid for uid, (_, gs) in USERS.items() if group in gs])
    try:
        yield slack
    finally:
        slack.stop()


def make_services(tmp_path: Path, platform: Any = None, **overrides: Any) -> Services:
    settings = load_settings(
        slack_bot_token="xoxb-test",
        slack_signing_secret=SECRET,
        mlops_home=tmp_path,
        mlops_channel=CHANNEL,
        **overrides,
    )
    store = SQLiteStore(tmp_path / "bot.db")
    if platform is None:
        return build_services(settings, store=store, host_endpoints_in_process=True)
    return build_services(settings, platform=platform, store=store)


def make_harness(slack: FakeSlack, services: Services, **kwargs: Any) -> Harness:
    client = WebClient(token="xoxb-test", base_url=slack.api_url)
    # Slack's real pacing (about one post per second) would only slow the tests down.
    services.notifier = Notifier(  # type: ignore[attr-defined]
        client,
        services.store,
        CHANNEL,
        post_rate=1000,
        post_burst=1000,
        update_rate=1000,
        update_burst=1000,
        backoff_base=0.05,
        backoff_max=0.2,
        idle_poll=0.05,
    )
    app = create_app(services, client=client, listeners=[handlers.register], **kwargs)
    return Harness(app, slack, services)


@pytest.fixture
def fake_platform() -> FakePlatform:
    return FakePlatform()


@pytest.fixture
def harness(tmp_path: Path, fake_slack: FakeSlack, fake_platform: FakePlatform) -> Iterator[Harness]:
    services = make_services(tmp_path, fake_platform)
    h = make_harness(fake_slack, services)
    try:
        yield h
    finally:
        drain(h.app, services)
        services.store.close()


def drain(app: App, services: Services | None = None) -> None:
    """Wait for background work (lazy listeners, then notifications) so nothing outlives the test."""
    app.listener_runner.listener_executor.shutdown(wait=True)
    notifier = getattr(services, "notifier", None)
    if notifier is not None:
        notifier.close(timeout=10)
