"""Shared fixtures: a recording Slack Web API, a JWKS server, the local ML platform, and the app.

Both servers are real HTTP servers on 127.0.0.1 so that the real ``slack_sdk.WebClient``
(behind the real ``Notifier``) and the real ``jwt.PyJWKClient`` are exercised. The platform is the
real local one, on a private copy of a home with three Approved versions and no endpoint; a test
deploys what it needs staging or production to serve.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette

from bot.core.models import Decision
from bot.core.service import ReleaseService
from bot.ingest.models import EventBridgeEvent
from bot.notify import Notifier
from bot.services import Services
from bot.settings import Settings
from bot.store.sqlite import SQLiteStore
from handlers.events import ingest_routes
from ml.local import LocalPlatform
from ml.platform import ApprovalStatus, Environment, NotFound
from ml.threaded_server import ThreadedServer
from runtimes.slack_local import LocalSlack, Message
from tests.conftest import Closer, built_once, copy_home, train_version
from tests.paths import load_event

ISSUER = "https://token.actions.githubusercontent.com"
AUDIENCE = "mlops-bot"
REPO = "acme-ml/mlops-models"
EVENTS_TOKEN = "evt-0f3a9c2e7b"
GH_SECRET = "gh-hook-5d1e8a"


fixture = load_event


# -- Slack -----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def slack_server() -> Iterator[LocalSlack]:
    # One server for the session (stopping one takes half a second); each test sees only its own
    # messages through ``Env``.
    with LocalSlack(channels=("mlops",)) as local:
        yield local


@pytest.fixture
def slack(slack_server: LocalSlack) -> Iterator[LocalSlack]:
    yield slack_server
    slack_server.clear_faults()


def _serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadedServer, str]:
    server = ThreadedServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


# -- OIDC ------------------------------------------------------------------------------------------


@dataclass
class Issuer:
    """An RSA key pair, its JWKS served over HTTP, and a token factory."""

    key: rsa.RSAPrivateKey
    kid: str
    url: str = ""
    hits: int = 0

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/.well-known/jwks"

    def jwks(self) -> dict[str, Any]:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def public_pem(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": f"repo:{REPO}:ref:refs/heads/main",
            "repository": REPO,
            "repository_owner": "acme-ml",
            "ref": "refs/heads/main",
            "sha": "4f9c1e27d3b8a6f0e5c2d1b0a9f8e7d6c5b4a321",
            "workflow": "Train and register",
            "run_id": "11873920455",
            "actor": "dana-k",
            "jti": str(uuid.uuid4()),
            "iat": now,
            "nbf": now - 5,
            "exp": now + 300,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, key: rsa.RSAPrivateKey | None = None, kid: str | None = None, **overrides: Any) -> str:
        return jwt.encode(
            self.claims(**overrides), key or self.key, algorithm="RS256", headers={"kid": kid or self.kid}
        )


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(header: Mapping[str, Any], claims: Mapping[str, Any], secret: bytes | None = None) -> str:
    """A hand-built token: ``alg: none`` (no signature) or HS256 under ``secret``."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = b"" if secret is None else hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


@pytest.fixture(scope="session")
def rsa_keys() -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    return (
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )


@pytest.fixture(scope="session")
def issuer_server(rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]) -> Iterator[Issuer]:
    iss = Issuer(key=rsa_keys[0], kid="gh-key-1")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            iss.hits += 1
            if self.path != "/.well-known/jwks":
                self.send_response(404)
                self.end_headers()
                return
            out = json.dumps(iss.jwks()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server, url = _serve(Handler)
    iss.url = url
    yield iss
    server.shutdown()
    server.server_close()


@pytest.fixture
def issuer(issuer_server: Issuer) -> Issuer:
    issuer_server.hits = 0
    return issuer_server


class Client:
    """Synchronous calls into the ASGI app through httpx (no network, real request handling)."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def _send(self, path: str, content: bytes, headers: Mapping[str, str]) -> httpx.Response:
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest.test") as client:
            return await client.post(path, content=content, headers=dict(headers))

    def post(
        self, path: str, content: bytes | str = b"", headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        body = content.encode() if isinstance(content, str) else content
        return asyncio.run(self._send(path, body, headers or {}))

    def post_many(
        self, path: str, content: bytes, headers: Mapping[str, str], n: int
    ) -> list[httpx.Response]:
        """``n`` identical requests at once, as a sender's retries can arrive."""

        async def all_at_once() -> list[httpx.Response]:
            return list(await asyncio.gather(*(self._send(path, content, headers) for _ in range(n))))

        return asyncio.run(all_at_once())


# -- platform and app ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def ingest_template(two_version_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """v1, v2 and v3 (alice's runs), all Approved; no endpoint deployed yet."""

    def build(folder: Path) -> None:
        home = copy_home(two_version_home, folder / "home")
        with LocalPlatform(home, host_endpoints_in_process=True) as platform:
            assert train_version(platform, "UALICE") == 3
            for version in (1, 2, 3):
                platform.update_approval(version, ApprovalStatus.APPROVED, "fine")

    return built_once(tmp_path_factory, "ingest", build) / "home"


@dataclass
class Env:
    services: Services
    notifier: Notifier
    slack: LocalSlack
    platform: LocalPlatform
    delegated: list[EventBridgeEvent]
    client: Client
    issuer: Issuer
    #: transcript position before this test: the Slack server is shared by the session
    first_seq: int = 0
    first_call: int = 0

    def serve(self, environment: Environment, version: int) -> None:
        """Deploy ``version`` to ``environment`` on the platform, as a deploy outside the bot would."""
        info = self.platform.deploy(environment, version, "UCAROL")
        assert (info.version, info.status.value) == (version, "InService")

    def delete_version(self, version: int) -> None:
        """Remove ``version`` from the registry while endpoints may still serve it.

        SageMaker allows this (DeleteModelPackage leaves endpoints running); the local platform has no
        such call, so the row goes from its registry database directly.
        """
        with closing(sqlite3.connect(self.platform.home / "registry.db", timeout=10)) as db, db:
            deleted = db.execute(
                "DELETE FROM model_packages WHERE grp = ? AND version = ?",
                (self.platform.model_package_group, version),
            ).rowcount
        assert deleted == 1, f"v{version} was not in the registry"
        try:
            self.platform.describe_model_package(version)
        except NotFound:
            return
        raise AssertionError(f"v{version} is still described after its deletion")

    def rebuild(self, **settings: Any) -> None:
        """Rebuild the app with changed settings (same store, Slack and platform)."""
        self.services.settings = self.services.settings.model_copy(update=settings)
        self.client = make_client(self.services, self.notifier, self.delegated)

    def messages(self) -> list[Message]:
        """Everything in the channel once the outbox has been sent, in posting order."""
        assert self.notifier.flush(timeout=10), "the Slack outbox did not drain"
        return [m for m in self.slack.messages("mlops") if m.seq >= self.first_seq]

    def calls(self, method: str) -> list[Any]:
        return [c for c in self.slack.calls()[self.first_call :] if c.method == method]

    def top_level(self) -> list[Message]:
        return [m for m in self.messages() if m.thread_ts is None]

    def replies(self, parent: Message) -> list[Message]:
        return [m for m in self.messages() if m.thread_ts == parent.ts]


def make_settings(issuer: Issuer, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "events_token": EVENTS_TOKEN,
        "github_webhook_secret": GH_SECRET,
        "github_repositories": [REPO],
        "github_workflows": [],
        "ci_oidc_issuer": ISSUER,
        "ci_oidc_jwks_url": issuer.jwks_url,
        "ci_oidc_audience": AUDIENCE,
        "ci_allowed_repositories": [REPO],
        "ci_allowed_refs": [],
        "ci_allowed_environments": [],
        "mlops_alarm_names": [],
        "mlops_channel": "#mlops",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def make_client(
    services: Services,
    notifier: Notifier,
    delegated: list[EventBridgeEvent],
    platform_handler: Callable[[Services, Notifier, EventBridgeEvent], None] | None = None,
) -> Client:
    """The ingest routes; platform events go to ``platform_handler``, by default into ``delegated``."""

    def handler(_services: Services, _notifier: Notifier, event: EventBridgeEvent) -> None:
        delegated.append(event)

    routes = ingest_routes(services, notifier, platform_handler=platform_handler or handler)
    return Client(Starlette(routes=routes))


@pytest.fixture
def env(
    tmp_path: Path, slack: LocalSlack, issuer: Issuer, ingest_template: Path, close_later: Closer
) -> Iterator[Env]:
    platform = LocalPlatform(copy_home(ingest_template, tmp_path / "home"), host_endpoints_in_process=True)
    store = SQLiteStore(tmp_path / "bot.db")
    settings = make_settings(issuer)
    release = ReleaseService(platform, store, auto_deploy_staging=False)
    for version in (1, 2, 3):  # approved by an approver in the bot, not only in the registry
        release.records.force_decision(
            Decision(version, ApprovalStatus.APPROVED, "UBOB", "bob", datetime.now(UTC), "fine")
        )
    services = Services(settings, platform, store, release)
    # No worker thread: ``Env.messages`` drains the outbox in the test's thread, deterministically.
    notifier = Notifier(
        slack.web_client(),
        store,
        slack.channel_id("mlops"),
        start_worker=False,
        post_rate=1000,
        post_burst=1000,
        update_rate=1000,
        update_burst=1000,
        backoff_base=0.01,
        backoff_max=0.02,
    )
    delegated: list[EventBridgeEvent] = []
    seq = max((m.seq for m in slack.messages(include_deleted=True)), default=-1) + 1
    client = make_client(services, notifier, delegated)
    yield Env(services, notifier, slack, platform, delegated, client, issuer, seq, len(slack.calls()))
    notifier.close(timeout=0)
    close_later(platform.close, store.close)
