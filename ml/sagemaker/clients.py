"""boto3 clients of the SageMaker platform: one botocore retry/timeout policy, shared and closable."""

from __future__ import annotations

import functools
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import botocore.session
from botocore.config import Config as BotoConfig
from botocore.loaders import Loader, create_loader

from ml.clock import Clock
from ml.platform import ENVIRONMENTS, Environment, InvalidRequest, PlatformError
from ml.sagemaker.config import SageMakerConfig
from ml.sagemaker.errors import aws_errors


def botocore_config(config: SageMakerConfig) -> BotoConfig:
    """Region, retries, timeouts and pool size every client of the platform uses."""
    return BotoConfig(
        region_name=config.region,
        retries={"mode": config.retry_mode, "total_max_attempts": config.max_attempts},
        connect_timeout=config.connect_timeout_seconds,
        read_timeout=config.read_timeout_seconds,
        max_pool_connections=max(10, config.max_concurrency + 2),
        user_agent_extra="mlops-bot",
    )


_sessions_lock = threading.Lock()


@functools.cache
def _data_loader(search_path: str | None) -> Loader:
    return create_loader(search_path)


def aws_session(region: str | None = None) -> boto3.Session:
    """A boto3 session that reads botocore's data files through one loader per process.

    Each session would otherwise decompress and parse the service models and endpoint rules again:
    megabytes of JSON, about a quarter of a second per session and service.
    """
    core = botocore.session.Session()
    loader = _data_loader(core.get_config_variable("data_path"))
    core.register_component("data_loader", loader)
    with _sessions_lock:
        session = boto3.Session(botocore_session=core, region_name=region)
        # boto3 appends its own data folder to the loader's search path for every session
        loader.search_paths[:] = dict.fromkeys(loader.search_paths)
    return session


def check_environment(name: str) -> Environment:
    """``name`` as an ``Environment``, or ``InvalidRequest`` listing the valid ones."""
    for env in ENVIRONMENTS:
        if env == name:
            return env
    raise InvalidRequest(f"Unknown environment {name!r}; expected one of {', '.join(ENVIRONMENTS)}")


class AwsClients:
    """Lazily created boto3 clients and the bounded pool that fans calls out, for one platform."""

    def __init__(self, config: SageMakerConfig, session: boto3.Session | None = None) -> None:
        self.config = config
        self._session = session
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._arn_prefix: str | None = None
        self._closed = False

    def client(self, service: str) -> Any:
        client = self._clients.get(service)
        if client is not None:
            return client
        with self._lock:
            if self._closed:
                raise PlatformError("The SageMaker platform has been closed")
            client = self._clients.get(service)
            if client is None:
                # boto3 sessions are not thread-safe: clients are created under the lock.
                if self._session is None:
                    self._session = aws_session(self.config.region)
                kwargs: dict[str, Any] = {"config": botocore_config(self.config)}
                if self.config.endpoint_url:
                    kwargs["endpoint_url"] = self.config.endpoint_url
                client = self._session.client(service, **kwargs)  # type: ignore[call-overload]
                self._clients[service] = client
            return client

    @property
    def sagemaker(self) -> Any:
        return self.client("sagemaker")

    def executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._closed:
                raise PlatformError("The SageMaker platform has been closed")
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self.config.max_concurrency, thread_name_prefix="sagemaker-platform"
                )
            return self._pool

    def arn_prefix(self) -> str:
        """``arn:<partition>:sagemaker:<region>:<account>`` of the bot's account."""
        if self._arn_prefix is None:
            with aws_errors("the bot's AWS identity"):
                identity = self.client("sts").get_caller_identity()
            partition = str(identity["Arn"]).split(":")[1]
            self._arn_prefix = f"arn:{partition}:sagemaker:{self.config.region}:{identity['Account']}"
        return self._arn_prefix

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
            clients, self._clients = self._clients, {}
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        for client in clients.values():
            client.close()


class AwsPart:
    """One concern of the platform (pipelines, registry, endpoints): its clients, clock and settings."""

    def __init__(self, aws: AwsClients, clock: Clock) -> None:
        self._aws = aws
        self._clock = clock
        self.config = aws.config


class RegionClients:
    """boto3 clients in one region for command-line tools, which have no platform settings.

    One botocore policy (standard retries, five attempts) tagged with the tool's user agent.
    """

    def __init__(self, session: boto3.Session, region: str, *, user_agent: str) -> None:
        self.session = session
        self.region = region
        self._config = BotoConfig(
            retries={"mode": "standard", "max_attempts": 5}, user_agent_extra=user_agent
        )
        self._clients: dict[str, Any] = {}

    @classmethod
    def open(
        cls, region: str | None, session: boto3.Session | None = None, *, user_agent: str
    ) -> RegionClients | None:
        """Clients in ``region`` (else the session's own region); None when neither names one."""
        session = session if session is not None else boto3.Session()
        resolved = region or session.region_name
        return cls(session, resolved, user_agent=user_agent) if resolved else None

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(  # type: ignore[call-overload]
                service, region_name=self.region, config=self._config
            )
        return self._clients[service]

    @property
    def sagemaker(self) -> Any:
        return self.client("sagemaker")

    @property
    def s3(self) -> Any:
        return self.client("s3")
