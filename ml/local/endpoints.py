"""The local endpoint host, as the rest of the platform imports it.

Routes of the host's HTTP server (``ml.local.runtime_api``):

``POST /endpoints/{name}/invocations``
    The SageMaker runtime API path, so ``boto3.client("sagemaker-runtime", endpoint_url=host_url)``
    ``.invoke_endpoint(EndpointName=name, ...)`` works unchanged and fails as on SageMaker: an unknown
    endpoint is a ``ValidationError`` (400), a container's non-2xx answer a ``ModelError`` (424) carrying
    ``OriginalStatusCode`` and ``OriginalMessage``, a body over 6 MB an HTTP 413, a container silent for
    60 s a ``ModelError`` with ``OriginalStatusCode`` 0.
``POST /invocations`` and ``GET /ping``
    The container's own routes, answered as the container answers. With several endpoints served, name
    one in the ``X-Endpoint`` header; with exactly one, the header may be left out.
``GET /endpoints``
    What this host serves (versions, container modes, load errors): how the platform confirms a deploy.

Successful invocations carry ``X-Model-Version`` (the registry version that answered) besides the
runtime's ``x-Amzn-Invoked-Production-Variant``.

Where things live: ``endpoint_host`` (which model each endpoint serves), ``runtime_api`` (HTTP),
``runtime_answers`` (SageMaker's answers and errors), ``deadlines`` (the 60 s limit),
``container``/``script_mode``/``algorithm_mode`` (the XGBoost image's serving), ``host_process`` (the
host as its own process).
"""

from __future__ import annotations

from .endpoint_host import POLL_INTERVAL_S, EndpointHost, LoadFailure, Served
from .host_process import (
    HOST_FILE,
    HOST_LOCK_FILE,
    HOST_LOG_FILE,
    HostRecord,
    ensure_host_process,
    host_status,
    live_host,
    read_host_record,
    remove_host_record,
    serve,
    stop_host_process,
    write_host_record,
)
from .runtime_answers import INVOCATION_TIMEOUT_S, MAX_PAYLOAD_BYTES, VARIANT

__all__ = [
    "HOST_FILE",
    "HOST_LOCK_FILE",
    "HOST_LOG_FILE",
    "INVOCATION_TIMEOUT_S",
    "MAX_PAYLOAD_BYTES",
    "POLL_INTERVAL_S",
    "VARIANT",
    "EndpointHost",
    "HostRecord",
    "LoadFailure",
    "Served",
    "ensure_host_process",
    "host_status",
    "live_host",
    "read_host_record",
    "remove_host_record",
    "serve",
    "stop_host_process",
    "write_host_record",
]
